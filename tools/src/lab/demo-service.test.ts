import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planServiceChecks, SERVICE_TARGET } from './check-service.js';
import { scopeOf, summarize, type CheckResult } from './cmd-check.js';
import { upStepCount, withService } from './cmd-up.js';
import { demoServices, servedIds, serviceUpdateArgs } from './demo-service.js';
import { LabLayout } from './layout.js';
import { inCgroup, nodeCgroupDir, withPodCgroup } from './pod-cgroup.js';
import { agentSpec, hubbleServerSpec } from './service-spec.js';
import { newState, type PodRecord } from './state-file.js';

const pod = (name: string, node: number, ip: string, ipv6?: string): PodRecord => ({
  name, node, netns: `cts-t-n${node}-${name}`, containerId: '', ip, ipv6: ipv6 ?? null, labels: { app: name }, processes: [],
});

test('the demo service fronts every node\'s web pod: IPv4 (id 1) and, dual-stack, IPv6 (id 2)', () => {
  const state = newState('t', '/run/x', '127.0.0.1:4245', { policy: true, traffic: false, ipv6: true, service: true });
  state.pods.push(pod('web', 2, '10.200.1.2', 'fd00:10:200::102'), pod('client', 1, '10.200.0.3'), pod('web', 1, '10.200.0.2', 'fd00:10:200::2'));
  const [v4, v6] = demoServices(state);
  assert.deepEqual(v4, { id: 1, family: 4, vip: '10.96.0.10', port: 80, backends: ['10.200.0.2:80', '10.200.1.2:80'], backendNames: ['n1-web', 'n2-web'] });
  assert.deepEqual(v6?.backends, ['[fd00:10:200::2]:80', '[fd00:10:200::102]:80']);
  assert.deepEqual(serviceUpdateArgs(v6!), ['service', 'update', '--id', '2', '--frontend', '[fd00:10:96::10]:80', '--backends', '[fd00:10:200::2]:80,[fd00:10:200::102]:80', '--name', 'web', '--namespace', 'default']);
  state.demo.ipv6 = false;
  assert.deepEqual(demoServices(state).map((s) => s.id), [1]);
});

test('service rows: client and other of every node to the VIP; other is denied only with the policy', () => {
  const rows = planServiceChecks([1, 2], true, [4, 6]);
  assert.equal(rows.length, 8);
  assert.ok(rows.every((r) => r.to === SERVICE_TARGET && scopeOf(r) === 'service'));
  assert.deepEqual(rows.filter((r) => r.family === 4).map((r) => `n${r.srcNode}/${r.from} ${r.expect}`), ['n1/client allowed', 'n1/other denied', 'n2/client allowed', 'n2/other denied']);
  assert.ok(planServiceChecks([1], false).every((r) => r.expect === 'allowed'));
  const results: CheckResult[] = rows.map((r) => ({ ...r, target: '', got: r.expect, reply: r.expect === 'allowed', detail: '', ok: r.from === 'client' }));
  const summary = summarize(results).filter((s) => s.category.startsWith('service'));
  assert.deepEqual(summary.map((s) => `${s.category} ${s.passed}/${s.total}`), [
    'service allowed 2/2', 'service denied by policy 0/2', 'service allowed (IPv6) 2/2', 'service denied by policy (IPv6) 0/2',
  ]);
});

test('pod processes run in the node\'s pod cgroup; only agents get --cgroup-root; podman labs have no service yet', () => {
  const layout = new LabLayout('t');
  const dir = nodeCgroupDir(layout, 2, '/sys/fs/cgroup');
  assert.equal(dir, '/sys/fs/cgroup/cilium-ts/t/n2');
  assert.deepEqual(inCgroup(dir, ['ip', 'netns', 'exec', 'x', 'node']).slice(3), [dir, 'ip', 'netns', 'exec', 'x', 'node']);
  const agent = withPodCgroup(agentSpec(layout, 2), layout).argv;
  assert.equal(agent[agent.indexOf('--cgroup-root') + 1], nodeCgroupDir(layout, 2));
  assert.equal(withPodCgroup(hubbleServerSpec(layout, 2), layout).argv.includes('--cgroup-root'), false);
  assert.equal(withService({ runtime: 'podman' }), false);
  assert.equal(upStepCount({ nodes: 2, policy: true, runtime: 'process' }), upStepCount({ nodes: 2, policy: true, runtime: 'podman' }) + 1);
});

test('servedIds reads `cilium service list -o json` and nothing else', () => {
  assert.deepEqual([...servedIds('[{"id":1},{"id":2}]')], [1, 2]);
  assert.deepEqual([...servedIds('not json')], []);
  assert.deepEqual([...servedIds('{"id":1}')], []);
});
