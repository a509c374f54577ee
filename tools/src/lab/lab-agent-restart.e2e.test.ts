// End to end: the agent of the destination node is SIGKILLed and restarted while a TCP
// stream crosses nodes, in a two-node dual-stack lab in tunnel mode. The stream (iperf3,
// client n1 -> web n2) must go on without a gap and without a datapath drop, policy must
// hold across nodes while the agent is down, and the restarted agent must restore its
// endpoints (same ids, addresses, identities) without re-attaching any program (kernel
// program ids compared with bpftool), so that connectivity works in both directions and
// the relay shows flows of the restarted node again. A graceful stop (SIGTERM) must not take
// the node out of the cluster either: the other node keeps reaching its pods meanwhile.
// Skipped (with the reason) when not root or an app is not built, except under CI=true.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { ciliumArgv } from './cilium-cli.js';
import type { LabStatus } from './cmd-status.js';
import { e2eSkip, killAgent, labCommand, observeFlows, restartAgent, tcProgramIds, type JsonFlow } from './e2e-support.js';
import { run, runChecked } from './exec.js';
import { demoProgram, LabLayout, labEnvVar } from './layout.js';
import { inNetns } from './netns.js';

const name = `rst${process.pid}`;
const layout = new LabLayout(name);
const skip = e2eSkip();
const lab = labCommand;
const STREAM_PORT = 5201;
const STREAM_SECONDS = 10;

// Beside the demo policy: client may open the stream to web.
const streamPolicyFile = `/tmp/cts-${name}-stream-policy.yaml`;
const streamPolicy = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: web-from-client-stream
  namespace: default
spec:
  endpointSelector:
    matchLabels:
      app: web
  ingress:
    - fromEndpoints:
        - matchLabels:
            app: client
      toPorts:
        - ports:
            - port: "${STREAM_PORT}"
              protocol: TCP
`;

/** The endpoint fields a restore must keep. */
interface EndpointJson {
  id: number;
  ipv4: string;
  ipv6: string;
  identity: number;
  hostIfname: string;
  containerId: string;
}

interface IperfJson {
  error?: string;
  intervals: Array<{ sum: { bytes: number; seconds: number } }>;
  end?: { sum_received?: { bytes: number } };
}

async function endpointsOf(node: number): Promise<EndpointJson[]> {
  const out = await runChecked(ciliumArgv(layout.agentSocket(node), 'endpoint', 'list', '-o', 'json'), { timeoutMs: 15_000 });
  return (JSON.parse(out) as EndpointJson[])
    .map((e) => ({ id: e.id, ipv4: e.ipv4, ipv6: e.ipv6, identity: e.identity, hostIfname: e.hostIfname, containerId: e.containerId }))
    .sort((a, b) => a.id - b.id);
}

/** Datapath drop counters of a node by "reason/direction" (the maps outlive the agent; read through it). */
async function dropCounters(node: number): Promise<Map<string, number>> {
  const out = await runChecked(ciliumArgv(layout.agentSocket(node), 'bpf', 'metrics', 'list', '-o', 'json'), { timeoutMs: 15_000 });
  const rows = JSON.parse(out) as Array<{ reason?: number; direction?: string; packets?: string | number }>;
  return new Map(rows.filter((r) => r.reason).map((r) => [`${r.reason}/${r.direction}`, Number(r.packets)]));
}

const delta = (before: Map<string, number>, after: Map<string, number>): Array<[string, number]> =>
  [...after].map(([k, n]) => [k, n - (before.get(k) ?? 0)] as [string, number]).filter(([, n]) => n > 0);

describe('lab e2e: agent SIGKILL and restart on the destination node while traffic crosses nodes (tunnel mode)', { skip }, () => {
  let status: LabStatus;
  const podOf = (pod: string, node: number): LabStatus['pods'][number] => status.pods.find((p) => p.name === pod && p.node === node)!;
  const probe = async (pod: string, node: number, ip: string, port: number): Promise<boolean> =>
    (await run(inNetns(podOf(pod, node).netns, [process.execPath, demoProgram('probe'), ip, String(port), '--timeout', '1500']), { timeoutMs: 10_000 })).code === 0;
  let endpointsBefore: EndpointJson[] = [];
  let programsBefore = new Map<string, number>();
  let restartedAt = 0;
  let iperfServer: ReturnType<typeof run> | undefined;

  before(async () => {
    const up = await lab('up', '--nodes', '2', '--name', name, '--routing-mode', 'tunnel', '--no-traffic');
    assert.equal(up.code, 0, `tools/lab up failed:\n${up.stderr}\n${up.stdout}`);
    const st = await lab('status', '--name', name, '--json');
    assert.equal(st.code, 0, st.stderr);
    status = JSON.parse(st.stdout) as LabStatus;
    writeFileSync(streamPolicyFile, streamPolicy);
    for (const i of [1, 2]) await runChecked(ciliumArgv(layout.agentSocket(i), 'policy', 'import', streamPolicyFile), { timeoutMs: 30_000 });
    endpointsBefore = await endpointsOf(2);
    programsBefore = await tcProgramIds(layout.nodeNetns(2));
  });
  after(async () => {
    rmSync(streamPolicyFile, { force: true });
    // Also stops the iperf3 processes (they carry the lab's marker).
    await lab('down', '--name', name);
    await iperfServer;
  });

  test('before: n2 runs programs on every pod veth and on cilium_vxlan', () => {
    assert.equal(endpointsBefore.length, 3, JSON.stringify(endpointsBefore));
    for (const ep of endpointsBefore) {
      assert.ok(programsBefore.get(`${ep.hostIfname}/ingress`), `from-container on ${ep.hostIfname}`);
      assert.ok(programsBefore.get(`${ep.hostIfname}/egress`), `to-container on ${ep.hostIfname}`);
    }
    assert.ok(programsBefore.get('cilium_vxlan/ingress'), `from-overlay on cilium_vxlan: ${JSON.stringify([...programsBefore])}`);
  });

  test('a cross-node stream survives SIGKILL of n2\'s agent and its restart; policy holds across nodes meanwhile', async () => {
    const web2 = podOf('web', 2);
    const dropsBefore = [await dropCounters(1), await dropCounters(2)];
    // With the lab's marker in their environment, "down" stops them too when a test fails.
    const env = { ...process.env, [labEnvVar]: name };
    iperfServer = run(inNetns(web2.netns, ['iperf3', '-s', '-1', '-p', String(STREAM_PORT)]), { timeoutMs: (STREAM_SECONDS + 40) * 1000, env });
    await new Promise((r) => setTimeout(r, 300));
    const stream = run(
      inNetns(podOf('client', 1).netns, ['iperf3', '-c', web2.ip!, '-p', String(STREAM_PORT), '-t', String(STREAM_SECONDS), '-i', '1', '-J']),
      { timeoutMs: (STREAM_SECONDS + 30) * 1000, env },
    );
    await new Promise((r) => setTimeout(r, 2000));
    await killAgent(layout, 2);
    // n2 has no agent: denied stays denied, allowed new connections still open (IPv4 and IPv6).
    const outage = {
      otherToWeb80: await probe('other', 1, web2.ip!, 80),
      clientToWeb8080: await probe('client', 1, web2.ip!, 8080),
      clientToWeb80: await probe('client', 1, web2.ip!, 80),
      clientToWeb80v6: await probe('client', 1, web2.ipv6!, 80),
    };
    await restartAgent(layout, 2, { ipv6: true, routingMode: 'tunnel' });
    restartedAt = Date.now();
    const r = await stream;
    assert.equal(r.code, 0, `iperf3 failed: ${r.stderr} ${r.stdout.slice(-500)}`);
    const res = JSON.parse(r.stdout) as IperfJson;
    assert.equal(res.error, undefined, `iperf3 reported: ${res.error}`);
    assert.deepEqual(outage, { otherToWeb80: false, clientToWeb8080: false, clientToWeb80: true, clientToWeb80v6: true });
    assert.ok(res.intervals.length >= STREAM_SECONDS, `iperf3 ran its ${STREAM_SECONDS} s (${res.intervals.length} intervals)`);
    res.intervals.forEach((iv, n) => assert.ok(iv.sum.bytes > 0, `bytes flowed in second ${n + 1} of the stream`));
    // No loss by the datapath: the only drops on either node are the two denied probes' SYNs.
    const dropsAfter = [await dropCounters(1), await dropCounters(2)];
    const d1 = delta(dropsBefore[0]!, dropsAfter[0]!);
    const d2 = delta(dropsBefore[1]!, dropsAfter[1]!);
    assert.deepEqual(d1, [], `n1 dropped: ${JSON.stringify(d1)}`);
    assert.ok(d2.every(([k]) => k === '133/ingress'), `n2 dropped only by policy at ingress: ${JSON.stringify(d2)}`);
  });

  test('the restarted agent restored n2\'s endpoints (ids, addresses, identities) and re-attached no program', async () => {
    assert.deepEqual(await endpointsOf(2), endpointsBefore);
    assert.deepEqual([...(await tcProgramIds(layout.nodeNetns(2)))].sort(), [...programsBefore].sort(), 'the same kernel programs at every hook');
    const st = await runChecked(ciliumArgv(layout.agentSocket(2), 'status', '-o', 'json'), { timeoutMs: 15_000 });
    assert.equal((JSON.parse(st) as { state?: string }).state?.toLowerCase(), 'ok', st);
  });

  test('a graceful stop (SIGTERM) keeps n2 in the cluster: cross-node traffic works both ways until the agent is back', async () => {
    await killAgent(layout, 2, 'SIGTERM');
    // n1 still knows n2 (registration, its pods' ipcache entries): new connections both ways.
    const down = {
      n1ToN2: await probe('client', 1, podOf('web', 2).ip!, 80),
      n2ToN1: await probe('client', 2, podOf('web', 1).ip!, 80),
      n1ToN2Denied: await probe('other', 1, podOf('web', 2).ip!, 80),
    };
    await restartAgent(layout, 2, { ipv6: true, routingMode: 'tunnel' });
    restartedAt = Date.now();
    assert.deepEqual(down, { n1ToN2: true, n2ToN1: true, n1ToN2Denied: false });
    assert.deepEqual(await endpointsOf(2), endpointsBefore);
  });

  test('after the restart lab check passes in both directions, over IPv4 and IPv6', async () => {
    const r = await lab('check', '--name', name);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /^cross-node allowed\s+2\s+2\s+ok$/m);
    assert.match(r.stdout, /^cross-node denied by policy\s+4\s+4\s+ok$/m);
    assert.match(r.stdout, /^cross-node allowed \(IPv6\)\s+2\s+2\s+ok$/m);
  });

  test('the relay shows flows of the restarted node again', async () => {
    const client2 = podOf('client', 2).ip!;
    const web1 = podOf('web', 1).ip!;
    let fresh: JsonFlow[] = [];
    for (let k = 0; k < 15 && fresh.length === 0; k++) {
      if (k > 0) await new Promise((r) => setTimeout(r, 1000));
      // New traffic from n2's client to n1's web, seen by n2's programs (from-container, to-overlay).
      await probe('client', 2, web1, 80);
      const flows = await observeFlows(layout);
      fresh = flows.filter((f) => f.node_name === 'n2' && f.IP?.source === client2 && Date.parse(f.time ?? '') >= restartedAt);
    }
    assert.ok(fresh.length > 0, 'a flow of n2 newer than the restart');
  });
});
