// cilium policy selectors, cilium config KEY=VALUE and cilium debuginfo against a real agent
// (tunnel mode, its own node namespace, a real etcd, one pod added through the CNI plugin,
// one policy selecting it): the selector cache as the policy engine holds it, Debug turning
// debug log records on and off, PolicyVerdictNotification stopping verdict events while drops
// still flow, refusals that change nothing, and a debuginfo report whose sections match what
// the agent's own commands answer; then cilium cleanup: refused while the agent runs and
// without a terminal, and after the agent stops it removes this node's tc programs, pins and
// state while a foreign tc program and a foreign pin in the same places stay.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import { agent, agentLog, daemonConfig } from '@cilium-ts/api';
import { EventType, listTcBpfFilters, pinnedProgramIds } from '@cilium-ts/bpf';
import { createClient, unary } from '@cilium-ts/grpc';
import { waitFor } from '@cilium-ts/kvstore/testing';
import { runCli } from './cli.js';
import { cli } from './testing/capture.js';
import { AgentNode, sh } from './testing/agent-node.js';

const skip = process.getuid?.() !== 0 && process.env.CI !== 'true' ? 'needs root' : false;
const node = new AgentNode({ tag: 'diag', podCidr: '10.215.0.0/24', nodeIp: '192.168.215.1' });
const { base, nodeNs, pinDir, workDir, host } = node;
const foreignPin = `/sys/fs/bpf/${base}-foreign`;
const datapathObject = fileURLToPath(new URL('../../../libs/bpf/dist/bpf/datapath.o', import.meta.url));

/** The agent's recent log records, parsed. */
async function recentLog(): Promise<Array<{ level: string; msg: string; method?: string }>> {
  const c = createClient(agentLog.AgentLogClient, host);
  try {
    const res = await unary(c, 'recentLog', { maxLines: 0 }, { deadline: 10_000 });
    return res.lines.map((l) => JSON.parse(l) as { level: string; msg: string; method?: string });
  } finally {
    c.close();
  }
}

const json = async <T>(argv: string[]): Promise<T> => {
  const r = await cli([...argv, '-H', host, '-o', 'json']);
  assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
};

const POLICY =
  'apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: diag, namespace: default}\n' +
  'spec:\n  endpointSelector: {matchLabels: {app: ops}}\n  ingress:\n    - fromEndpoints: [{matchLabels: {app: ops}}]\n      toPorts: [{ports: [{port: "80", protocol: TCP}]}]\n' +
  '  egress:\n    - toEntities: [world]\n';

describe('policy selectors, config KEY=VALUE and debuginfo against a real agent', { skip }, () => {

  before(async () => {
    await node.start();
    writeFileSync(`${workDir}/diag.yaml`, POLICY);
    const imported = await cli(['policy', 'import', `${workDir}/diag.yaml`, '-H', host]);
    assert.equal(imported.code, 0, imported.stderr);
  });

  after(async () => {
    rmSync(foreignPin, { force: true });
    await node.stop();
  });

  test('cilium policy selectors lists the selector cache: the pod\'s identity under its rule, the world entity', async () => {
    const [ep] = await json<Array<{ id: number; identity: number }>>(['endpoint', 'list']);
    const selectors = await json<Array<{ selector: string; identities: number[]; users: number; labels: string[] }>>(['policy', 'selectors']);
    const ops = selectors.find((s) => s.selector.includes('app=ops'));
    assert.ok(ops, JSON.stringify(selectors));
    assert.deepEqual(ops.identities, [ep!.identity]);
    assert.equal(ops.users, 1);
    assert.ok(ops.labels.includes('k8s:io.cilium.k8s.policy.name=diag'), ops.labels.join(' '));
    const world = selectors.find((s) => s.selector.includes('world'));
    assert.ok(world?.identities.includes(2), JSON.stringify(selectors));
    const text = await cli(['policy', 'selectors', '-H', host]);
    assert.match(text.stdout, /^SELECTOR\s+LABELS\s+USERS\s+IDENTITIES\n/);
    assert.match(text.stdout, new RegExp(`app=ops.*\\s1\\s+${ep!.identity}\\n`));
    assert.equal((await cli(['policy', 'selectors', 'extra', '-H', host])).code, 2);
  });

  test('cilium config Debug=true writes debug records (one per API call) until Debug=false', async () => {
    const rpcLines = async () => (await recentLog()).filter((l) => l.level === 'debug' && l.msg === 'rpc finished' && l.method === '/cilium.agent.v1.Daemon/Status').length;
    await cli(['status', '-H', host]);
    assert.equal(await rpcLines(), 0, 'no debug records at --log-level info');
    const on = await cli(['config', 'Debug=true', '-H', host]);
    assert.equal(on.code, 0, on.stderr);
    assert.equal(on.stdout, 'Configuration updated successfully: Debug=Enabled\n');
    assert.match((await cli(['config', '-H', host])).stdout, /^Debug\s+Enabled$/m);
    await cli(['status', '-H', host]);
    assert.equal(await rpcLines(), 1);
    assert.equal((await cli(['config', 'Debug=false', '-H', host])).code, 0);
    await cli(['status', '-H', host]);
    assert.equal(await rpcLines(), 1, 'no new debug record once Debug is off');
  });

  test('immutable, unknown and badly valued options are refused naming them (INVALID_ARGUMENT), nothing changes', async () => {
    const refused = await cli(['config', 'PolicyVerdictNotification=false', 'node-name=other', '-H', host]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /option node-name: cannot be changed while the agent runs/);
    const unknown = await cli(['config', 'Conntrack=true', '-H', host]);
    assert.match(unknown.stderr, /option Conntrack: unknown option; runtime-mutable options: Debug, PolicyVerdictNotification/);
    const bad = await cli(['config', 'Debug=maybe', '-H', host]);
    assert.match(bad.stderr, /option Debug: "maybe" is not a valid value/);
    assert.equal((await cli(['config', 'Debug', '-H', host])).code, 2, 'an argument without = is a usage error');
    const c = createClient(daemonConfig.DaemonConfigClient, host);
    try {
      await assert.rejects(unary(c, 'patchConfig', { options: { 'routing-mode': 'native' } }, { deadline: 10_000 }), (err: ServiceError) => err.code === grpcStatus.INVALID_ARGUMENT && /routing-mode/.test(err.details));
      await assert.rejects(unary(c, 'patchConfig', { options: {} }, { deadline: 10_000 }), (err: ServiceError) => err.code === grpcStatus.INVALID_ARGUMENT && /options is empty/.test(err.details));
    } finally {
      c.close();
    }
    const cfg = await json<{ status: { daemonConfigurationMap: Record<string, string> } }>(['config']);
    assert.equal(cfg.status.daemonConfigurationMap.PolicyVerdictNotification, 'Enabled');
    assert.equal(cfg.status.daemonConfigurationMap.Debug, 'Disabled');
    assert.equal(cfg.status.daemonConfigurationMap['node-name'], `${base}-self`);
  });

  test('cilium config PolicyVerdictNotification=false stops verdict events while drops still arrive', async () => {
    const c = createClient(agent.MonitorClient, host);
    const seen = { verdicts: 0, drops: 0 };
    const stream = c.listen({ types: [EventType.drop, EventType.policyVerdict], agentEvents: false, batch: false });
    stream.on('data', (ev: agent.MonitorEvent) => {
      const type = ev.datapath?.[0];
      if (type === EventType.policyVerdict) seen.verdicts++;
      if (type === EventType.drop) seen.drops++;
    });
    stream.on('error', () => undefined);
    // The host is not allowed by the pod's ingress rule: each ping is a denied verdict and a drop.
    const ping = () => spawnSync('ip', ['netns', 'exec', nodeNs, 'ping', '-c', '1', '-W', '1', node.podIp], { stdio: 'ignore' });
    try {
      await waitFor('a verdict and a drop', async () => (ping(), seen.verdicts > 0 && seen.drops > 0), 30_000);
      assert.equal((await cli(['config', 'PolicyVerdictNotification=false', '-H', host])).code, 0);
      // Records read before the change may still be queued: count from the first drop after it.
      const dropsAtOff = seen.drops;
      await waitFor('a drop after the change', async () => (ping(), seen.drops > dropsAtOff), 30_000);
      const verdictsOff = seen.verdicts;
      const dropsOff = seen.drops;
      await waitFor('three more drops', async () => (ping(), seen.drops >= dropsOff + 3), 30_000);
      assert.equal(seen.verdicts, verdictsOff, 'no verdict event while PolicyVerdictNotification is off');
      assert.equal((await cli(['config', 'PolicyVerdictNotification=true', '-H', host])).code, 0);
      await waitFor('verdicts again', async () => (ping(), seen.verdicts > verdictsOff), 30_000);
    } finally {
      stream.cancel();
      c.close();
    }
  });

  test('cilium debuginfo: one report whose sections match the agent\'s own answers, as JSON, markdown and into a directory', async () => {
    const report = await json<Record<string, unknown>>(['debuginfo']);
    assert.deepEqual(Object.keys(report), ['generatedAt', 'status', 'config', 'endpoints', 'policy', 'identities', 'selectors', 'services', 'maps', 'agentLog']);
    const st = report.status as { nodeName: string; endpointCount: number; policyRevision: string };
    assert.equal(st.nodeName, `${base}-self`);
    assert.equal(st.endpointCount, 1);
    assert.deepEqual(report.config, (await json<{ status: { daemonConfigurationMap: unknown } }>(['config'])).status.daemonConfigurationMap);
    assert.deepEqual(report.endpoints, await json(['endpoint', 'list']));
    const policy = await json<{ revision: string; rules: unknown[] }>(['policy', 'get']);
    assert.deepEqual(report.policy, policy);
    assert.equal(policy.rules.length, 1);
    assert.deepEqual(report.identities, await json(['identity', 'list']));
    assert.deepEqual(report.selectors, await json(['policy', 'selectors']));
    assert.deepEqual(report.services, []);
    const maps = report.maps as Array<{ name: string; entries: number; maxEntries: number }>;
    assert.deepEqual(maps.map((m) => m.name), (await json<Array<{ name: string }>>(['map', 'list'])).map((m) => m.name));
    assert.equal(maps.find((m) => m.name === 'endpoints')?.entries, 1);
    const log = report.agentLog as Array<{ msg: string }>;
    assert.ok(log.some((l) => l.msg === 'agent ready'), 'the recent log holds the start');

    const md = await cli(['debuginfo', '-H', host]);
    assert.equal(md.code, 0, md.stderr);
    assert.match(md.stdout, /^# Cilium debug information\n/);
    for (const title of ['Cilium status', 'Cilium configuration', 'Endpoint list', 'Policy get', 'Identity list', 'Policy selectors', 'Service list', 'BPF maps', 'Recent agent log']) {
      assert.match(md.stdout, new RegExp(`^#### ${title}\\n\\n\`\`\`\\n`, 'm'), title);
    }
    assert.ok(md.stdout.includes(node.podIp), 'the endpoint list holds the pod');

    const dir = `${workDir}/reports`;
    const written = await cli(['debuginfo', '--output-directory', dir, '-o', 'json', '-H', host]);
    assert.equal(written.code, 0, written.stderr);
    const files = readdirSync(dir);
    assert.equal(files.length, 1);
    assert.match(files[0]!, /^cilium-debuginfo-\d{8}T\d{6}Z\.json$/);
    assert.equal(written.stdout, `Debug info written to ${dir}/${files[0]}\n`);
    assert.equal((JSON.parse(readFileSync(`${dir}/${files[0]}`, 'utf8')) as { status: { nodeName: string } }).status.nodeName, `${base}-self`);
    assert.equal((await cli(['debuginfo', '-o', 'yaml', '-H', host])).code, 2);
  });
  test('cilium policy trace between running endpoints: an L7 path is dropped (165) until the proxy acknowledged the redirect, then allowed', async () => {
    const [ep] = await json<Array<{ id: number }>>(['endpoint', 'list']);
    const id = String(ep!.id);
    writeFileSync(`${workDir}/l7.yaml`, 'apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: diag-l7, namespace: default}\n' +
      'spec:\n  endpointSelector: {matchLabels: {app: ops}}\n  ingress:\n    - fromEndpoints: [{matchLabels: {app: ops}}]\n' +
      '      toPorts: [{ports: [{port: "8080", protocol: TCP}], rules: {http: [{method: GET}]}}]\n  egress:\n    - toEndpoints: [{matchLabels: {app: ops}}]\n');
    assert.equal((await cli(['policy', 'import', `${workDir}/l7.yaml`, '-H', host])).code, 0);
    type Trace = { verdict: string; ingress: { verdict: string; proxyPort?: number; proxyReady?: boolean; dropReason?: number }; lines: string[] };
    const trace = () => json<Trace>(['policy', 'trace', '--src-endpoint', id, '--dst-endpoint', id, '--dport', '8080/TCP']);
    const before = await trace();
    assert.equal(before.verdict, 'DENIED', before.lines.join('\n'));
    assert.equal(before.ingress.dropReason, 165);
    assert.equal(before.ingress.proxyReady, false);
    const port = before.ingress.proxyPort!;
    // The proxy's acknowledgement as the agent records it: (endpoint, proxy port) -> the device it takes the traffic on.
    const hex = (n: number, bytes: number) => [...Buffer.from(Array.from({ length: bytes }, (_, i) => (n >> (8 * i)) & 0xff))].map((b) => b.toString(16).padStart(2, '0'));
    const key = [...hex(ep!.id, 2), ...hex(port, 2)];
    sh('bpftool', 'map', 'update', 'pinned', `${pinDir}/proxy_ready`, 'key', 'hex', ...key, 'value', 'hex', ...hex(1, 4));
    try {
      const ready = await trace();
      assert.equal(ready.verdict, 'ALLOWED', ready.lines.join('\n'));
      assert.equal(ready.ingress.proxyReady, true);
      assert.ok(ready.lines.some((l) => l.includes(`redirected to L7 proxy ${port} (ready)`)));
    } finally {
      sh('bpftool', 'map', 'delete', 'pinned', `${pinDir}/proxy_ready`, 'key', 'hex', ...key);
    }
    assert.equal((await trace()).ingress.dropReason, 165, 'dropped again once the acknowledgement is gone');
  });

  test('cilium cleanup: refused while the agent runs and without a terminal; then removes only this node\'s programs, pins and state', async () => {
    const netns = `/run/netns/${nodeNs}`;
    const args = ['cleanup', '--bpf-pin-dir', pinDir, '--state-dir', `${workDir}/state`, '--node-netns', netns, '-H', host];
    // Someone else's: a tc program on another interface of the node namespace, a pin beside ours.
    sh('ip', '-n', nodeNs, 'link', 'add', 'foreign0', 'type', 'veth', 'peer', 'name', 'foreign1');
    sh('ip', 'netns', 'exec', nodeNs, 'tc', 'qdisc', 'add', 'dev', 'foreign0', 'clsact');
    sh('ip', 'netns', 'exec', nodeNs, 'tc', 'filter', 'add', 'dev', 'foreign0', 'ingress', 'prio', '1', 'handle', '1', 'bpf', 'da', 'obj', datapathObject, 'sec', 'tc');
    sh('bpftool', 'map', 'create', foreignPin, 'type', 'hash', 'key', '4', 'value', '4', 'entries', '1', 'name', 'foreign');
    const ours = pinnedProgramIds(pinDir);
    const before = await listTcBpfFilters(netns);
    const foreign = before.filter((f) => f.ifname === 'foreign0');
    assert.equal(foreign.length, 1);
    assert.ok(!ours.has(foreign[0]!.progId));
    const ourFilters = before.filter((f) => ours.has(f.progId));
    assert.ok(ourFilters.some((f) => f.ifname.startsWith('lxc')), `the endpoint's host veth runs our programs: ${JSON.stringify(before)}`);
    const state = { pins: readdirSync(pinDir).length, filters: before.length, state: readdirSync(`${workDir}/state`).length };
    const unchanged = async (why: string) => {
      assert.deepEqual({ pins: readdirSync(pinDir).length, filters: (await listTcBpfFilters(netns)).length, state: readdirSync(`${workDir}/state`).length }, state, why);
    };

    const running = await cli(args);
    assert.equal(running.code, 1);
    assert.match(running.stderr, /the agent at .* is running: stop it first/);
    await unchanged('refused while the agent runs');

    node.child!.kill('SIGTERM');
    await new Promise((r) => (node.child!.exitCode !== null ? r(undefined) : node.child!.once('exit', r)));
    const noTty = await cli([...args, '--all-state']);
    assert.equal(noTty.code, 1);
    assert.match(noTty.stderr, /not asking without a terminal: use --force/);
    let stderr = '';
    const declined = await runCli([...args, '--all-state'], { stdout: { write: () => undefined }, stderr: { write: (t) => void (stderr += t) }, env: {}, confirm: async () => false });
    assert.equal(declined, 1);
    assert.match(stderr, /This removes:\n(.|\n)*tc filter: lxc(.|\n)*bpffs: (.|\n)*state: /);
    await unchanged('declined on the terminal');

    const done = await cli([...args, '--force', '--all-state']);
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stdout, /^Removed:\n/);
    for (const f of ourFilters) assert.ok(done.stdout.includes(`tc filter: ${f.ifname} ${f.hook} pref ${f.pref} handle ${f.handle} (program ${f.progId} `), done.stdout);
    assert.match(done.stdout, /state: .* \(\d+ entries\)\n/);
    const after = await listTcBpfFilters(netns);
    assert.deepEqual(after.filter((f) => ours.has(f.progId)), [], 'none of our programs is attached');
    assert.deepEqual(after, foreign, 'the foreign filter stays, with its program');
    assert.equal(existsSync(pinDir), false);
    assert.equal(existsSync(`${workDir}/state`), false);
    assert.equal(existsSync(foreignPin), true, 'the foreign pin stays');
    assert.equal((await cli(args)).stdout, 'Nothing to clean up\n');
  });
});
