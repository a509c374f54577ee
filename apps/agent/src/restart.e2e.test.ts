// Restart safety end to end: a real etcd, a real agent process on a fresh node namespace,
// two pods created through the CNI plugin, a policy allowing TCP to one port. A TCP
// stream runs while the agent is SIGKILLed and restarted: it must go on without loss or
// reset, a denied port must stay dropped while the agent is down, and the restarted agent
// must restore its endpoints from its state directory without re-attaching programs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { agent } from '@cilium-ts/api';
import { Datapath, tcAttachedProgramId } from '@cilium-ts/bpf';
import { createClient, unary } from '@cilium-ts/grpc';
import { freeTcpPort } from '@cilium-ts/kvstore';
import { startTestEtcd, type TestEtcd } from '@cilium-ts/kvstore/testing';
import { tcpConnect } from '@cilium-ts/bpf/testing';

const needsRoot = { skip: process.getuid?.() !== 0 && process.env.CI !== 'true' ? 'needs root' : false } as const;

const pid = process.pid;
const base = `cts-restart-${pid}`;
const nodeNs = `${base}-n`;
const nodeNetns = `/run/netns/${nodeNs}`;
const podNs = { a: `${base}-a`, b: `${base}-b` };
const workDir = `/tmp/${base}`;
const pinDir = `/sys/fs/bpf/${base}`;
const socket = `${workDir}/agent.sock`;
const appMain = (app: string): string => fileURLToPath(new URL(`../../${app}/dist/main.js`, import.meta.url));
const ALLOWED = 5201;
const DENIED = 5202;

const POLICY = JSON.stringify({
  apiVersion: 'cilium.io/v2',
  kind: 'CiliumNetworkPolicy',
  metadata: { name: 'b-from-a', namespace: 'default' },
  spec: {
    endpointSelector: { matchLabels: { app: `rb${pid}` } },
    ingress: [{ fromEndpoints: [{ matchLabels: { app: `ra${pid}` } }], toPorts: [{ ports: [{ port: String(ALLOWED), protocol: 'TCP' }] }] }],
  },
});

function sh(...argv: string[]): void {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
}

/** Connects from pod ns to host:port; resolves 'connected', 'timeout' or 'error:<code>'. */

/** Runs the CNI plugin in the node namespace as a runtime would; returns its stdout. */
function cni(command: 'ADD' | 'DEL', pod: 'a' | 'b'): Promise<string> {
  const conf = { cniVersion: '1.0.0', name: 'cilium-ts', type: 'cilium-cni', 'agent-socket': `unix://${socket}`, runtimeConfig: { labels: { app: `r${pod}${pid}` } } };
  const env = {
    ...process.env, CNI_COMMAND: command, CNI_CONTAINERID: `${base}-${pod}`, CNI_NETNS: `/run/netns/${podNs[pod]}`,
    CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin', CNI_ARGS: `K8S_POD_NAMESPACE=default;K8S_POD_NAME=${pod}`,
  };
  return new Promise((resolve, reject) => {
    const p = execFile('nsenter', [`--net=${nodeNetns}`, '--', process.execPath, appMain('cni')], { env, timeout: 60000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`CNI ${command} of pod ${pod} failed: ${stdout} ${stderr}`));
      else resolve(stdout);
    });
    p.stdin!.end(JSON.stringify(conf));
  });
}

interface IperfResult { error?: string; intervals: Array<{ sum: { bytes: number; retransmits?: number } }>; end: { sum_sent: { retransmits: number; bytes: number }; sum_received: { bytes: number } } }

describe('agent restart: SIGKILL mid-stream, restore from the state dir', needsRoot, () => {
  let etcd: TestEtcd | undefined;
  let metricsPort = 0;
  let agentProc: ChildProcess | undefined;
  let client: agent.EndpointsClient | undefined;
  let policyClient: agent.PolicyClient | undefined;
  const servers: ChildProcess[] = [];
  const ips: Record<'a' | 'b', string> = { a: '', b: '' };
  let endpointsBefore: agent.Endpoint[] = [];
  const progIds = new Map<string, number | undefined>();

  function startAgent(): ChildProcess {
    const log = openSync(`${workDir}/agent.log`, 'a');
    return spawn(process.execPath, [
      appMain('agent'), '--node-name', `${base}`, '--pod-cidr', '10.206.0.0/24', '--node-netns', nodeNetns,
      '--kvstore-endpoints', etcd!.endpoint, '--kvstore-prefix', base, '--state-dir', `${workDir}/state`,
      '--bpf-pin-dir', pinDir, '--listen', `unix://${socket}`, '--log-level', 'info', '--metrics-port', String(metricsPort),
    ], { stdio: ['ignore', log, log] });
  }

  async function waitReady(): Promise<void> {
    const daemon = createClient(agent.DaemonClient, `unix://${socket}`);
    try {
      const deadline = Date.now() + 45000;
      for (;;) {
        if (agentProc?.exitCode !== null) throw new Error(`agent exited: ${readFileSync(`${workDir}/agent.log`, 'utf8').slice(-2000)}`);
        const ok = await unary(daemon, 'status', agent.StatusRequest.create(), { deadline: 1000 }).then(() => true, () => false);
        if (ok) return;
        if (Date.now() > deadline) throw new Error(`agent not ready after 45 s: ${readFileSync(`${workDir}/agent.log`, 'utf8').slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      daemon.close();
    }
  }

  async function attachedIds(): Promise<Map<string, number | undefined>> {
    const out = new Map<string, number | undefined>();
    for (const ep of endpointsBefore) {
      for (const hook of ['ingress', 'egress'] as const) out.set(`${ep.hostIfname}/${hook}`, await tcAttachedProgramId({ ifname: ep.hostIfname, netns: nodeNetns }, hook));
    }
    return out;
  }

  /** Drop counters of the node's datapath by "reason/direction". */
  async function dropCounters(): Promise<Map<string, bigint>> {
    const dp = await Datapath.open({ pinDir });
    try {
      return new Map(dp.metricsList().filter((m) => m.reason !== 0).map((m) => [`${m.reason}/${m.direction}`, m.packets]));
    } finally {
      dp.close();
    }
  }

  async function listEndpoints(): Promise<agent.Endpoint[]> {
    return (await unary(client!, 'listEndpoints', agent.ListEndpointsRequest.create(), { deadline: 5000 })).endpoints;
  }

  before(async () => {
    for (const app of ['agent', 'cni', 'cilium-cli']) {
      if (!existsSync(appMain(app))) throw new Error(`${appMain(app)} is missing: run \`npm run build\` at the root first`);
    }
    for (const ns of [nodeNs, podNs.a, podNs.b]) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    Datapath.removePins(pinDir);
    rmSync(workDir, { recursive: true, force: true });
    mkdirSync(`${workDir}/state`, { recursive: true });
    etcd = await startTestEtcd('restart');
    metricsPort = await freeTcpPort();
    sh('ip', 'netns', 'add', nodeNs);
    sh('ip', '-n', nodeNs, 'link', 'set', 'lo', 'up');
    for (const ns of Object.values(podNs)) sh('ip', 'netns', 'add', ns);
    agentProc = startAgent();
    await waitReady();
    client = createClient(agent.EndpointsClient, `unix://${socket}`);
    policyClient = createClient(agent.PolicyClient, `unix://${socket}`);
    for (const pod of ['a', 'b'] as const) {
      const res = JSON.parse(await cni('ADD', pod)) as { ips: Array<{ address: string }> };
      ips[pod] = res.ips[0].address.split('/')[0];
    }
    await unary(policyClient, 'import', agent.PolicyImportRequest.fromPartial({ document: POLICY }), { deadline: 10000 });
    // Listeners in pod b: iperf3 on the allowed port, a plain TCP server on the denied one.
    servers.push(spawn('ip', ['netns', 'exec', podNs.b, 'iperf3', '-s', '-1', '-p', String(ALLOWED)], { stdio: 'ignore' }));
    servers.push(spawn('ip', ['netns', 'exec', podNs.b, process.execPath, '-e', `require('net').createServer((s)=>s.end()).listen(${DENIED})`], { stdio: 'ignore' }));
    await new Promise((r) => setTimeout(r, 500));
    endpointsBefore = await listEndpoints();
  });

  after(async () => {
    client?.close();
    policyClient?.close();
    for (const s of servers) s.kill('SIGKILL');
    if (agentProc && agentProc.exitCode === null) {
      agentProc.kill('SIGKILL');
      await new Promise((r) => agentProc!.once('exit', r));
    }
    for (const ns of [podNs.a, podNs.b, nodeNs]) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    Datapath.removePins(pinDir);
    rmSync(workDir, { recursive: true, force: true });
    await etcd?.stop();
  });

  test('before the restart: the policy allows one port and drops the other', async () => {
    assert.equal(endpointsBefore.length, 2);
    assert.ok(endpointsBefore.every((e) => e.state === 'ready'));
    assert.equal(await tcpConnect(podNs.a, ips.b, DENIED), 'timeout');
    for (const [k, v] of await attachedIds()) {
      assert.ok(v, `a program is attached at ${k}`);
      progIds.set(k, v);
    }
  });

  /** /metrics after real traffic: Cilium's names, the denied probe counted by reason, values as the kernel and the agent have them. */
  async function checkMetrics(): Promise<void> {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    // The value of the sample `name` carrying every label of `labels` (in any order).
    const value = (name: string, labels: Record<string, string> = {}): number => {
      const line = text.split('\n').find((l) => {
        const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(l);
        return m?.[1] === name && Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`));
      });
      assert.ok(line, `no ${name} ${JSON.stringify(labels)} in /metrics:\n${text.split('\n').filter((l) => l.startsWith('cilium_')).join('\n')}`);
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    };
    const bpf = createClient(agent.BpfClient, `unix://${socket}`);
    let kernelDrops = 0;
    try {
      kernelDrops = Number((await unary(bpf, 'metricsList', {}, { deadline: 5000 })).entries.find((m) => m.reason === 133 && m.direction === 'ingress')?.packets ?? 0n);
    } finally {
      bpf.close();
    }
    const drops = value('cilium_drop_count_total', { direction: 'INGRESS', reason: 'Policy denied' });
    assert.ok(drops >= 1 && drops <= kernelDrops, `policy drops ${drops} counted (kernel: ${kernelDrops} at the later read)`);
    assert.ok(value('cilium_drop_bytes_total', { direction: 'INGRESS', reason: 'Policy denied' }) >= 40 * drops, 'drop bytes');
    assert.ok(value('cilium_forward_count_total', { direction: 'EGRESS' }) > 0, 'forwards counted');
    assert.equal(value('cilium_endpoint'), 2);
    assert.equal(value('cilium_endpoint_state', { endpoint_state: 'ready' }), 2);
    assert.equal(value('cilium_policy'), 1);
    assert.ok(value('cilium_policy_max_revision') >= 1);
    assert.equal(value('cilium_policy_import_errors_total'), 0);
    assert.ok(value('cilium_identity', { type: 'cluster_local' }) >= 2, 'the two pods\' identities');
    assert.ok(value('cilium_endpoint_regeneration_time_stats_seconds_count', { scope: 'total' }) >= 2, 'the import regenerated both endpoints');
    assert.ok(value('cilium_kvstore_operations_duration_seconds_count', { action: 'txn', outcome: 'success' }) >= 1, 'kvstore transactions timed');
  }

  test('the Bpf service and `cilium bpf` show the kernel maps of the real agent', async () => {
    const b = endpointsBefore.find((e) => e.ipv4 === ips.b)!;
    const bpf = createClient(agent.BpfClient, `unix://${socket}`);
    try {
      const pol = await unary(bpf, 'policyGet', { endpointId: b.id }, { deadline: 5000 });
      assert.equal(pol.ingressEnforced, true);
      assert.deepEqual(pol.entries.map((e) => [e.direction, e.protocol, e.port, e.deny, e.identityLabels.some((l) => l.includes(`ra${pid}`))]), [['ingress', 6, ALLOWED, false, true]]);
      const drops = await unary(bpf, 'metricsList', {}, { deadline: 5000 });
      assert.ok(drops.entries.some((m) => m.reason === 133 && m.direction === 'ingress'), 'the denied probe was counted');
    } finally {
      bpf.close();
    }
    await checkMetrics();
    const out = await new Promise<string>((resolve, reject) => execFile(process.execPath, [appMain('cilium-cli'), 'bpf', 'ipcache', 'list', '--host', `unix://${socket}`], (err, stdout) => (err ? reject(err) : resolve(stdout))));
    assert.match(out, new RegExp(`^${ips.b.replace(/\./g, '\\.')}/32 +${b.identity} `, 'm'));
  });

  test('a stream survives SIGKILL of the agent and its restart; policy holds while it is down', async () => {
    const dropsBefore = await dropCounters();
    const iperf = new Promise<{ code: number | null; out: string }>((resolve) => {
      execFile('ip', ['netns', 'exec', podNs.a, 'iperf3', '-c', ips.b, '-p', String(ALLOWED), '-t', '8', '-i', '1', '-J'], { timeout: 30000, maxBuffer: 16 << 20 },
        (err, stdout) => resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, out: stdout }));
    });
    await new Promise((r) => setTimeout(r, 2000));
    agentProc!.kill('SIGKILL');
    await new Promise((r) => agentProc!.once('exit', r));
    assert.equal(await tcpConnect(podNs.a, ips.b, DENIED), 'timeout', 'denied port still dropped with the agent down');
    agentProc = startAgent();
    await waitReady();
    const { code, out } = await iperf;
    const res = JSON.parse(out) as IperfResult;
    assert.equal(res.error, undefined, `iperf3 reported an error: ${res.error}`);
    assert.equal(code, 0);
    assert.ok(res.intervals.length >= 7, `iperf3 ran its 8 s (${res.intervals.length} intervals)`);
    res.intervals.forEach((iv, n) => assert.ok(iv.sum.bytes > 0, `bytes flowed in second ${n + 1}`));
    // TCP retransmits happen here without any program too (veth backlog on a loaded
    // machine), so loss by the datapath is read from its drop counters: only the SYNs of
    // the denied probe (one and its retransmission) may have been dropped.
    const dropsAfter = await dropCounters();
    const delta = [...dropsAfter].map(([k, n]) => [k, n - (dropsBefore.get(k) ?? 0n)] as const).filter(([, n]) => n > 0n);
    assert.ok(delta.every(([k]) => k === '133/ingress'), `only policy drops at ingress: ${JSON.stringify(delta.map(([k, n]) => [k, String(n)]))}`);
    assert.ok(delta.reduce((a, [, n]) => a + n, 0n) <= 3n, `only the denied probe was dropped (retransmits per second, for information: ${res.intervals.map((iv) => iv.sum.retransmits).join(' ')})`);
  });

  test('the restarted agent restored its endpoints without re-attaching programs', async () => {
    const restored = await listEndpoints();
    assert.deepEqual(restored.map((e) => [e.id, e.ipv4, e.hostIfname, e.identity]), endpointsBefore.map((e) => [e.id, e.ipv4, e.hostIfname, e.identity]));
    assert.deepEqual(await attachedIds(), progIds, 'the same programs are attached at every hook');
  });

  test('after the restart the policy still holds', async () => {
    // The agent restored the imported policy from its state directory: nothing is re-imported.
    const got = await unary(policyClient!, 'get', agent.PolicyGetRequest.fromPartial({}), { deadline: 10000 });
    assert.equal(got.ruleCount, 1, 'the imported rule was restored');
    const eps = await listEndpoints();
    assert.ok(eps.some((e) => e.ingressEnforced), 'the restored endpoint enforces its ingress policy');
    assert.equal(await tcpConnect(podNs.a, ips.b, DENIED), 'timeout');
    servers.push(spawn('ip', ['netns', 'exec', podNs.b, 'iperf3', '-s', '-1', '-p', String(ALLOWED)], { stdio: 'ignore' }));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await tcpConnect(podNs.a, ips.b, ALLOWED), 'connected');
    assert.deepEqual(await attachedIds(), progIds, 'a policy change reloads nothing');
  });
});
