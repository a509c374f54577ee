// End to end in tunnel mode over an IPv6 underlay: a two-node dual-stack lab with
// `--routing-mode tunnel --underlay ipv6` (VXLAN between the nodes' fd00:192:168:200::<i>;
// the IPv4 underlay is the agent restart e2e's). The connectivity check must pass over
// IPv4 and IPv6 with no routes between the nodes' pod CIDRs, the tunnel's packets must
// arrive as UDP over IPv6 (the node namespaces' UDP counters), the node namespaces must
// reach other nodes' pods (through the kernel's VXLAN encapsulation, arriving as
// remote-node), and the relay must show cross-node traffic leaving through the overlay
// (to-overlay) and arriving from it (from-overlay) with the sender's identity. With
// `cilium endpoint config ID Debug=true` on a pod, `cilium monitor --type debug` shows its
// datapath's DEBUG lines (the encapsulation toward the other node among them).
// Skipped (with the reason) when not root or an app is not built, except under CI=true.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { ciliumArgv } from './cilium-cli.js';
import type { LabStatus } from './cmd-status.js';
import { e2eSkip, labCommand, observeFlows, type JsonFlow } from './e2e-support.js';
import { run, runChecked } from './exec.js';
import { demoProgram, LabLayout, labEnvVar } from './layout.js';
import { inNetns } from './netns.js';

const name = `tun${process.pid}`;
// Admits the nodes of the cluster (remote-node) to web on 8080: health-check-like traffic.
const REMOTE_NODE_POLICY = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: web-from-remote-node-8080
  namespace: default
spec:
  endpointSelector:
    matchLabels:
      app: web
  ingress:
    - fromEntities:
        - remote-node
      toPorts:
        - ports:
            - port: "8080"
              protocol: TCP
`;
const layout = new LabLayout(name);
const skip = e2eSkip();
const lab = labCommand;

/** A node namespace's count of UDP datagrams received over IPv4 and over IPv6 (nstat's absolute counters). */
async function udpReceived(netns: string): Promise<{ v4: number; v6: number }> {
  const out = await run(inNetns(netns, ['nstat', '-asz', 'UdpInDatagrams', 'Udp6InDatagrams']));
  assert.equal(out.code, 0, out.stderr);
  const counter = (nameOf: string): number => Number(new RegExp(`^${nameOf}\\s+(\\d+)`, 'm').exec(out.stdout)?.[1] ?? NaN);
  return { v4: counter('UdpInDatagrams'), v6: counter('Udp6InDatagrams') };
}

describe('lab e2e in tunnel mode over an IPv6 underlay (VXLAN, identity in the VNI)', { skip }, () => {
  let status: LabStatus;
  const podOf = (pod: string, node: number): LabStatus['pods'][number] => status.pods.find((p) => p.name === pod && p.node === node)!;

  before(async () => {
    const up = await lab('up', '--nodes', '2', '--name', name, '--routing-mode', 'tunnel', '--underlay', 'ipv6', '--no-traffic');
    assert.equal(up.code, 0, `tools/lab up failed:\n${up.stderr}\n${up.stdout}`);
    const st = await lab('status', '--name', name, '--json');
    assert.equal(st.code, 0, st.stderr);
    status = JSON.parse(st.stdout) as LabStatus;
  });
  after(async () => {
    await lab('down', '--name', name);
  });

  test('each node has cilium_vxlan (external, port 8472), pods MTU 1430, and no native route to the other node\'s pods', async () => {
    for (const i of [1, 2]) {
      const link = await run(inNetns(layout.nodeNetns(i), ['ip', '-d', 'link', 'show', 'cilium_vxlan']));
      assert.equal(link.code, 0, link.stderr);
      assert.match(link.stdout, /vxlan external .*dstport 8472/);
      const eth0 = await run(inNetns(podOf('web', i).netns, ['ip', '-j', 'link', 'show', 'eth0']));
      assert.equal((JSON.parse(eth0.stdout) as Array<{ mtu: number }>)[0]?.mtu, 1430, 'pod MTU leaves room for VXLAN over IPv6');
      const other = podOf('web', 3 - i);
      for (const ip of [other.ip!, other.ipv6!]) {
        const r = await run(inNetns(layout.nodeNetns(i), ['ip', 'route', 'get', ip]));
        assert.doesNotMatch(r.stdout, new RegExp(`via ${layout.nodeIp(3 - i).replaceAll('.', '\\.')}`), `n${i} routes ${ip} natively: ${r.stdout}`);
      }
    }
  });

  test('pod traffic between the nodes travels as UDP over IPv6 (VXLAN outer header), none over IPv4', async () => {
    const PINGS = 20;
    const before = [await udpReceived(layout.nodeNetns(1)), await udpReceived(layout.nodeNetns(2))];
    for (const target of [podOf('client', 2).ip!, podOf('client', 2).ipv6!]) {
      const ping = await run(inNetns(podOf('client', 1).netns, ['ping', '-q', '-c', String(PINGS), '-i', '0.02', '-W', '2', target]), { timeoutMs: 20_000 });
      assert.equal(ping.code, 0, ping.stdout + ping.stderr);
    }
    const after = [await udpReceived(layout.nodeNetns(1)), await udpReceived(layout.nodeNetns(2))];
    // Requests arrive at n2, replies at n1: at least one UDP/IPv6 datagram per echo each way.
    for (const k of [0, 1]) {
      assert.ok(after[k]!.v6 - before[k]!.v6 >= 2 * PINGS, `n${k + 1} received ${after[k]!.v6 - before[k]!.v6} UDP datagrams over IPv6 for ${2 * PINGS} echoes`);
      assert.equal(after[k]!.v4 - before[k]!.v4, 0, `n${k + 1} received UDP over IPv4`);
    }
  });

  test('lab check agrees with the policy on every node pair, over IPv4 and IPv6', async () => {
    const r = await lab('check', '--name', name);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /^cross-node allowed\s+2\s+2\s+ok$/m);
    assert.match(r.stdout, /^cross-node denied by policy\s+4\s+4\s+ok$/m);
    assert.match(r.stdout, /^cross-node allowed \(IPv6\)\s+2\s+2\s+ok$/m);
    assert.match(r.stdout, /^cross-node denied by policy \(IPv6\)\s+4\s+4\s+ok$/m);
    // The node's own namespace reaches the other node's pods: an echo to client passes,
    // web:80 is denied by the demo policy (the sender is remote-node, not app=client).
    assert.match(r.stdout, /^node-to-remote-pod allowed\s+2\s+2\s+ok$/m);
    assert.match(r.stdout, /^node-to-remote-pod denied by policy\s+2\s+2\s+ok$/m);
    assert.match(r.stdout, /^node-to-remote-pod allowed \(IPv6\)\s+2\s+2\s+ok$/m);
    assert.match(r.stdout, /^node-to-remote-pod denied by policy \(IPv6\)\s+2\s+2\s+ok$/m);
  });

  test('a node reaches another node\'s pod through cilium_vxlan, seen there from the overlay as remote-node', async () => {
    const client2 = podOf('client', 2);
    const r = await run(inNetns(layout.nodeNetns(1), ['ip', 'route', 'get', client2.ip!]));
    assert.match(r.stdout, /encap ip6 id 6 .*dst fd00:192:168:200::2 .*dev cilium_vxlan table 193 src 10\.200\.\d+\.1 /, r.stdout);
    const ping = await run(inNetns(layout.nodeNetns(1), ['ping', '-c', '1', '-W', '2', client2.ip!]));
    assert.equal(ping.code, 0, ping.stdout + ping.stderr);
    let seen: JsonFlow | undefined;
    for (let k = 0; k < 10 && !seen; k++) {
      if (k > 0) await new Promise((res) => setTimeout(res, 1000));
      seen = (await observeFlows(layout)).find((f) => f.node_name === 'n2' && f.trace_observation_point === 'FROM_OVERLAY' && f.IP?.destination === client2.ip && f.source?.identity === 6);
    }
    assert.ok(seen, 'n2 shows the echo from n1 arriving from the overlay with identity 6 (remote-node)');
  });

  test('TCP from a node to another node\'s pod (a health-check-like GET) passes where policy admits remote-node', async () => {
    const file = `/tmp/cts-${name}-remote-node.yaml`;
    writeFileSync(file, REMOTE_NODE_POLICY);
    try {
      for (const i of [1, 2]) {
        const imp = await run(ciliumArgv(layout.agentSocket(i), 'policy', 'import', file), { timeoutMs: 30_000 });
        assert.equal(imp.code, 0, imp.stderr);
      }
    } finally {
      rmSync(file, { force: true });
    }
    const get = async (node: number, ip: string, port: number): Promise<string> =>
      (await run(inNetns(layout.nodeNetns(node), [process.execPath, demoProgram('probe'), ip, String(port), '--timeout', '2000']), { timeoutMs: 10_000 })).stdout.trim();
    for (const [from, to] of [[1, 2], [2, 1]] as const) {
      const web = podOf('web', to);
      assert.match(await get(from, web.ip!, 8080), /^ok \d+/, `n${from} -> web n${to}:8080 (IPv4)`);
      assert.match(await get(from, web.ipv6!, 8080), /^ok \d+/, `n${from} -> web n${to}:8080 (IPv6)`);
      assert.match(await get(from, web.ip!, 80), /^fail/, `n${from} -> web n${to}:80 stays denied`);
    }
  });

  test('cilium endpoint config Debug=true: cilium monitor --type debug shows the pod\'s DEBUG lines; Debug=false turns it off', async () => {
    const socket = layout.agentSocket(1);
    const client1 = podOf('client', 1);
    const list = await runChecked(ciliumArgv(socket, 'endpoint', 'list', '-o', 'json'), { timeoutMs: 15_000 });
    const id = (JSON.parse(list) as Array<{ id: number; ipv4: string }>).find((e) => e.ipv4 === client1.ip)?.id;
    assert.ok(id, `client n1 (${client1.ip}) among n1's endpoints: ${list}`);
    const set = await run(ciliumArgv(socket, 'endpoint', 'config', String(id), 'Debug=true'), { timeoutMs: 15_000 });
    assert.equal(set.code, 0, set.stderr);
    const argv = ciliumArgv(socket, 'monitor', '--type', 'debug');
    // With the lab's marker in its environment, "down" stops it too if it outlives the test.
    const mon = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, [labEnvVar]: name } });
    let out = '';
    mon.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const encap = new RegExp(`FROM ${id} DEBUG: Encapsulating to node`);
    try {
      // Traffic until the line shows (the monitor subscribes asynchronously).
      for (let k = 0; k < 20 && !encap.test(out); k++) {
        await run(inNetns(client1.netns, ['ping', '-c', '1', '-W', '1', podOf('client', 2).ip!]), { timeoutMs: 10_000 });
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.match(out, encap, `cilium monitor --type debug printed:\n${out.slice(0, 2000)}`);
      assert.match(out, new RegExp(`FROM ${id} DEBUG: Conntrack lookup 1/2: src=${client1.ip!.replaceAll('.', '\\.')}`));
      assert.doesNotMatch(out, / -> (to|from)-|xx drop|policy-verdict/, 'only debug records');
    } finally {
      mon.kill('SIGINT');
    }
    const get = JSON.parse(await runChecked(ciliumArgv(socket, 'endpoint', 'get', String(id)), { timeoutMs: 15_000 })) as { options: Record<string, string> };
    assert.deepEqual(get.options, { Debug: 'Enabled' });
    assert.equal((await run(ciliumArgv(socket, 'endpoint', 'config', String(id), 'Debug=false'), { timeoutMs: 15_000 })).code, 0);
    assert.equal((await runChecked(ciliumArgv(socket, 'endpoint', 'config', String(id)), { timeoutMs: 15_000 })).trim(), 'Debug   Disabled');
  });

  test('the relay shows client n1 -> web n2 leaving through the overlay and arriving from it with the client\'s identity', async () => {
    const flows = await observeFlows(layout);
    const client = podOf('client', 1).ip!;
    const web = podOf('web', 2).ip!;
    const of = (point: string): JsonFlow | undefined =>
      flows.find((f) => f.trace_observation_point === point && f.IP?.source === client && f.IP?.destination === web);
    const out = of('TO_OVERLAY');
    const into = of('FROM_OVERLAY');
    assert.ok(out, 'a to-overlay flow client n1 -> web n2');
    assert.ok(into, 'a from-overlay flow client n1 -> web n2');
    assert.equal(into.node_name?.endsWith('n2'), true, `from-overlay seen on ${into.node_name}`);
    assert.ok(into.source?.labels?.includes('k8s:app=client'), `labels at n2: ${JSON.stringify(into.source?.labels)}`);
    assert.equal(into.source?.identity, out.source?.identity);
  });
});
