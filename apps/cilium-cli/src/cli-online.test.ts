// The online commands against a fake agent served over a real unix socket.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { agent } from '@cilium-ts/api';
import { encodeEventRecord } from '@cilium-ts/bpf/events';
import { buildPacket, TcpFlags } from '@cilium-ts/bpf/testing/packet-builder';
import { MaxDocumentBytes } from '@cilium-ts/policy';
import { cli } from './testing/capture.js';
import { FakeAgent } from '@cilium-ts/agent/testing';

const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));
const NS = 'k8s:io.kubernetes.pod.namespace=default';

describe('cilium against an agent', () => {
  let fake: FakeAgent;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cts-cli-'));
    fake = await FakeAgent.start(join(dir, 'agent.sock'), {
      status: {
        nodeName: 'node-1',
        version: '0.1.0-fake',
        state: 'degraded',
        subsystems: [
          { name: 'datapath', state: 'ok', message: '' },
          { name: 'kvstore', state: 'degraded', message: 'etcd lagging' },
        ],
        startedAt: { seconds: 1_700_000_000n, nanos: 0 },
        kernelFeatures: [
          { name: 'ringbuf', available: true, detail: '' },
          { name: 'geneve', available: false, detail: 'not built in' },
        ],
        bpfPinPath: '/sys/fs/bpf/cilium-ts',
      },
      config: { 'routing-mode': 'native', 'enable-policy': 'default', 'cgroup-root': '', 'kvstore-endpoints': 'http://127.0.0.1:2379' },
      podCidr: '10.0.1.0/24',
      endpoints: [
        {
          ...agent.Endpoint.create(),
          id: 12,
          containerId: 'c12',
          ifname: 'eth0',
          hostIfname: 'lxc0123456789a',
          ipv4: '10.0.1.12',
          labels: ['k8s:app=web', NS],
          identity: 256,
          podName: 'web-0',
          namespace: 'default',
          state: 'ready',
          policyRevision: 2n,
          ingressEnforced: true,
          options: { Debug: 'Disabled' },
        },
      ],
      identities: [
        { id: 1, labels: ['reserved:host'], references: 0, reserved: true },
        { id: 256, labels: ['k8s:app=web', NS], references: 1, reserved: false },
      ],
    });
    // cilium monitor reads the events there are and exits when the agent ends the stream.
    fake.endMonitorAfterReplay = true;
    env = { CILIUM_HOST: fake.target };
  });

  after(async () => {
    fake?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('status shows node, state, failing subsystems; --verbose and -o json show everything', async () => {
    const r = await cli(['status'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Node: +node-1 \(cluster default\)/);
    assert.match(r.stdout, /State: +degraded/);
    assert.match(r.stdout, /Subsystems: +1\/2 ok/);
    assert.match(r.stdout, /kvstore: degraded \(etcd lagging\)/);
    assert.doesNotMatch(r.stdout, /datapath: ok/);
    const v = await cli(['status', '-v'], env);
    assert.match(v.stdout, /datapath: ok/);
    assert.match(v.stdout, /geneve: no \(not built in\)/);
    const j = JSON.parse((await cli(['status', '-o', 'json'], env)).stdout) as Record<string, unknown>;
    assert.equal(j.nodeName, 'node-1');
    assert.equal(j.startedAt, '2023-11-14T22:13:20.000000000Z');
    assert.equal(j.policyRevision, String(fake.repo.revision));
    assert.deepEqual(j.kernelFeatures, [
      { name: 'ringbuf', available: true, detail: '' },
      { name: 'geneve', available: false, detail: 'not built in' },
    ]);
  });

  it('--host overrides CILIUM_HOST', async () => {
    const r = await cli(['status', '--host', fake.target], { CILIUM_HOST: 'unix:///nonexistent.sock' });
    assert.equal(r.code, 0, r.stderr);
  });

  it('endpoint list and get', async () => {
    const list = await cli(['endpoint', 'list'], env);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^ENDPOINT +POLICY \(ingress\)/);
    assert.match(list.stdout, /12 +Enabled +Disabled +256 +10\.0\.1\.12 +default\/web-0 +ready +k8s:app=web/);
    const get = await cli(['endpoint', 'get', '12'], env);
    assert.equal((JSON.parse(get.stdout) as { hostIfname: string }).hostIfname, 'lxc0123456789a');
    const byContainer = JSON.parse((await cli(['endpoint', 'get', 'container-id:c12'], env)).stdout) as { id: number; policyRevision: string };
    assert.equal(byContainer.id, 12);
    assert.equal(byContainer.policyRevision, '2');
    const missing = await cli(['endpoint', 'get', '99'], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /endpoint 99 not found/);
  });

  it('endpoint config lists options, sets Debug, and refuses unknown options and values with the agent\'s reason', async () => {
    const list = await cli(['endpoint', 'config', '12'], env);
    assert.equal(list.code, 0, list.stderr);
    assert.equal(list.stdout, 'Debug   Disabled\n');
    assert.match((await cli(['endpoint', 'config', '12', '--list-options'], env)).stdout, /^Debug +Emit datapath debug records/);
    const set = await cli(['endpoint', 'config', '12', 'Debug=true'], env);
    assert.equal(set.code, 0, set.stderr);
    assert.equal(set.stdout, 'Endpoint 12 configuration updated successfully\n');
    assert.deepEqual(JSON.parse((await cli(['endpoint', 'config', '12', '-o', 'json'], env)).stdout), { Debug: 'Enabled' });
    assert.deepEqual((JSON.parse((await cli(['endpoint', 'get', '12'], env)).stdout) as { options: unknown }).options, { Debug: 'Enabled' }, 'endpoint get shows the option');
    const unknown = await cli(['endpoint', 'config', '12', 'Colour=blue'], env);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /endpoint option Colour: unknown option; known options: Debug/);
    const badValue = await cli(['endpoint', 'config', '12', 'Debug=maybe'], env);
    assert.equal(badValue.code, 1);
    assert.match(badValue.stderr, /Debug=maybe: not a valid value/);
    const noEquals = await cli(['endpoint', 'config', '12', 'Debug'], env);
    assert.equal(noEquals.code, 2);
    assert.match(noEquals.stderr, /"Debug" is not Option=value/);
    assert.equal((await cli(['endpoint', 'config'], env)).code, 2);
    assert.match((await cli(['endpoint', 'config', '99'], env)).stderr, /endpoint 99 not found/);
    assert.equal((await cli(['endpoint', 'config', '12', 'Debug=false'], env)).code, 0);
  });

  it('identity list and get', async () => {
    const list = await cli(['identity', 'list'], env);
    assert.match(list.stdout, /^ID +LABELS\n1 +reserved:host\n256 +k8s:app=web\n +k8s:io\.kubernetes\.pod\.namespace=default\n$/);
    const get = JSON.parse((await cli(['identity', 'get', '256', '-o', 'json'], env)).stdout) as { labels: string[] };
    assert.deepEqual(get.labels, ['k8s:app=web', NS]);
  });

  it('ipam list', async () => {
    const r = await cli(['ipam', 'list'], env);
    assert.match(r.stdout, /Pod CIDR: 10\.0\.1\.0\/24 +allocated: 1 +available: 252/);
    assert.match(r.stdout, /10\.0\.1\.12 +c12/);
  });

  it('policy import, get, trace (online), delete', async () => {
    const imp = await cli(['policy', 'import', 'allow-web.yaml'], env, fixtures);
    assert.equal(imp.code, 0, imp.stderr);
    assert.equal(imp.stdout, `Revision: ${fake.repo.revision}\n`);
    assert.equal(fake.lastImport?.source, 'allow-web.yaml');
    assert.equal(fake.lastImport?.replaceWithLabels, true);

    const get = JSON.parse((await cli(['policy', 'get', '-o', 'json'], env)).stdout) as { ruleCount: number; rules: unknown[] };
    assert.equal(get.ruleCount, 1);
    assert.equal(get.rules.length, 1);

    const trace = (dport: string): Promise<{ verdict: string }> =>
      cli(['policy', 'trace', '-s', `k8s:app=frontend,${NS}`, '-d', `k8s:app=web,${NS}`, '--dport', dport, '-o', 'json'], env).then(
        (r) => JSON.parse(r.stdout) as { verdict: string },
      );
    assert.equal((await trace('80/TCP')).verdict, 'ALLOWED');
    assert.equal((await trace('443/TCP')).verdict, 'DENIED');

    const del = await cli(['policy', 'delete', '--all'], env);
    assert.equal(del.code, 0, del.stderr);
    assert.match(del.stdout, /deleted 1 rule\n$/);
    assert.equal((await trace('443/TCP')).verdict, 'ALLOWED'); // no rules: nothing enforced
  });

  it('config lists the agent settings sorted, empty ones as -, and -o json in upstream\'s shape', async () => {
    const r = await cli(['config'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'cgroup-root         -\nenable-policy       default\nkvstore-endpoints   http://127.0.0.1:2379\nrouting-mode        native\n');
    const j = JSON.parse((await cli(['config', '-o', 'json'], env)).stdout) as { status: { daemonConfigurationMap: Record<string, string> } };
    assert.equal(j.status.daemonConfigurationMap['routing-mode'], 'native');
    assert.match((await cli(['config', '--help'], env)).stdout, /show the agent configuration, or set runtime-mutable options \(KEY=VALUE\)/);
    assert.equal((await cli(['config', '-o', 'yaml'], env)).code, 2);
  });

  it('policy wait returns for an enforced revision, times out naming the enforced one, and refuses a non-number', async () => {
    const cur = fake.repo.revision;
    const ok = await cli(['policy', 'wait', String(cur)], env);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, `Policy revision ${cur} is enforced (this node enforces revision ${cur})\n`);
    assert.deepEqual(JSON.parse((await cli(['policy', 'wait', String(cur), '-o', 'json'], env)).stdout), { revision: String(cur) });
    const late = await cli(['policy', 'wait', String(cur + 5), '--max-wait-time', '100ms'], env);
    assert.equal(late.code, 1);
    assert.match(late.stderr, new RegExp(`revision ${cur + 5} is not enforced .*enforces revision ${cur}`));
    const bad = await cli(['policy', 'wait', 'next'], env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /revision "next" is not a number/);
    const badTime = await cli(['policy', 'wait', '1', '--max-wait-time', 'soon'], env);
    assert.equal(badTime.code, 2);
    assert.match(badTime.stderr, /max-wait-time/);
  });

  it('policy import prints the agent error as is and exits 1', async () => {
    const before = fake.repo.revision;
    const r = await cli(['policy', 'import', 'invalid.yaml'], env, fixtures);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Error: policy document rejected with 2 errors/);
    assert.match(r.stderr, /invalid\.yaml: spec\.ingress\[0\]\.toPorts\[0\]\.ports\[0\]\.port/);
    assert.equal(fake.repo.revision, before);
  });

  it('policy import refuses a document over the size limit before sending it', async () => {
    const before = fake.repo.revision;
    const file = join(dir, 'big.yaml');
    const text = `description: "${'x'.repeat(MaxDocumentBytes)}"\n`;
    writeFileSync(file, text);
    const r = await cli(['policy', 'import', file], env);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `Error: ${file}: policy document too large (${Buffer.byteLength(text)} bytes, limit ${MaxDocumentBytes}); split it into several documents\n`);
    assert.equal(fake.repo.revision, before);
  });

  it('monitor prints one line per event, filters by --type, and speaks JSON', async () => {
    const packet = buildPacket({ src: '10.0.1.5', dst: '10.0.1.12', protocol: 'tcp', sport: 40000, dport: 80, tcpFlags: TcpFlags.syn });
    const time = { seconds: 1_700_000_000n, nanos: 0 };
    fake.monitorEvents = [
      { time, nodeName: 'node-1', datapath: encodeEventRecord({ type: 1, subType: 133, source: 12, srcIdentity: 300, dstIdentity: 256, packet }) },
      { time, nodeName: 'node-1', datapath: encodeEventRecord({ type: 4, subType: 0, source: 12, packet }) },
      { time, nodeName: 'node-1', agent: { type: 7, json: '{"id":12}' } },
      { time, nodeName: 'node-1', lost: 3n },
    ] satisfies agent.MonitorEvent[];
    const all = await cli(['monitor'], env);
    assert.equal(all.code, 0, all.stderr);
    const lines = all.stdout.trim().split('\n');
    assert.equal(lines.length, 4, all.stdout);
    assert.match(lines[0]!, /xx drop \(Policy denied\) ingress endpoint 12 identity 300->256: 10\.0\.1\.5:40000 -> 10\.0\.1\.12:80 TCP Flags: SYN$/);
    assert.match(lines[1]!, /-> to-endpoint endpoint 12/);
    assert.match(lines[2]!, /agent event 7/);
    assert.deepEqual(fake.lastMonitorRequest, { types: [], agentEvents: true, batch: false });

    const drops = await cli(['monitor', '--type', 'drop', '-o', 'json'], env);
    assert.deepEqual(fake.lastMonitorRequest, { types: [1], agentEvents: false, batch: false });
    const events = drops.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(events.filter((e) => e.type === 'drop').length, 1);
    assert.equal(events.filter((e) => e.type === 'trace').length, 0);
    assert.equal(events[0]!.dropReason, 'Policy denied');
    assert.equal(events[0]!.dstPort, 80);
    assert.equal((await cli(['monitor', '--type', 'bogus'], env)).code, 2);
  });

  it('version shows both sides', async () => {
    const r = await cli(['version'], env);
    assert.match(r.stdout, /^Client: 0\.1\.0/);
    assert.match(r.stdout, /Daemon: 0\.1\.0-fake\n$/);
  });

  it('reads policy files relative to the working directory', async () => {
    writeFileSync(join(dir, 'p.json'), JSON.stringify([{ endpointSelector: { matchLabels: { app: 'x' } }, ingress: [{}], labels: ['k8s:policy=p'] }]));
    const r = await cli(['policy', 'import', 'p.json', '-o', 'json'], env, dir);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { ruleCount: number }).ruleCount, 1);
    assert.equal((await cli(['policy', 'delete', 'k8s:policy=p'], env)).code, 0);
  });
});
