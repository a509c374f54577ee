// The one-way policy path: endpoints follow their policy handle's diffs into the datapath
// (applyPolicyDiff), with the real PolicyStore and a recording datapath (no kernel).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EndpointManager, type CreateEndpointInput } from './endpoint-manager.js';
import type { DatapathPort } from './deps.js';
import { IdentityCache } from './identity-cache.js';
import { NodeNetns } from './netns.js';
import { PolicyStore } from './policy-store.js';
import { parsePolicyDocument } from '@cilium-ts/policy';
import { StateStore } from './state-store.js';

class FakeNetns extends NodeNetns {
  constructor() {
    super(undefined);
  }
  override async link(name: string) {
    return { ifindex: name === 'lxc1' ? 11 : 12, address: '02:00:00:00:00:01', operstate: 'UP' };
  }
}

const doc = JSON.stringify({
  apiVersion: 'cilium.io/v2',
  kind: 'CiliumNetworkPolicy',
  metadata: { name: 'web', namespace: 'default' },
  spec: { endpointSelector: { matchLabels: { app: 'web' } }, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'client' } }], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }] }] }] },
});
const NS = 'k8s:io.kubernetes.pod.namespace=default';
const client = (n: number): string[] => ['k8s:app=client', NS, `k8s:n=${n}`];

const input = (n: number, labels: string[]): CreateEndpointInput => ({
  containerId: `c${n}`, netns: `/run/netns/p${n}`, ifname: 'eth0', hostIfname: `lxc${n}`, ipv4: `10.0.0.${n + 1}`, ipv6: '',
  labels, podName: `p${n}`, namespace: 'default', mac: '',
});

test('identity changes reach the policy maps as diffs; a diff during the attach is caught up after it; delete stops following', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cts-epd-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const store = new StateStore(dir);
  await store.init();
  const ids = new IdentityCache();
  const policy = new PolicyStore(ids);
  policy.change([], parsePolicyDocument(doc, 'test'), 'test');
  const calls: string[] = [];
  let duringAttach: (() => void) | undefined;
  const datapath: DatapathPort = {
    async attachEndpoint(spec, p) {
      calls.push(`attach ${spec.id} ${p.length}`);
      await new Promise((r) => setImmediate(r));
      duringAttach?.();
      duringAttach = undefined;
    },
    updatePolicy: (id, p) => void calls.push(`resync ${id} ${p.map((e) => e.identity).join(',')}`),
    applyPolicyDiff: (id, d) => void calls.push(`diff ${id} +${d.added.map((e) => e.identity).join(',')} -${d.removed.map((e) => e.identity).join(',')}`),
    detachEndpoint: async (spec) => void calls.push(`detach ${spec.id}`),
    ipcacheUpsert: () => undefined,
    ipcacheDelete: () => undefined,
    setEndpointDebug: () => undefined,
  };
  let nextId = 300;
  const m = new EndpointManager({
    nodeName: 'n1', nodeIp: '192.168.0.1', netns: new FakeNetns(), datapath,
    identities: { allocate: async () => ({ id: nextId++, isNew: true }), release: async () => undefined },
    ipcache: { upsert: async () => undefined, delete: async () => undefined },
    policy: { compute: (l) => policy.compute(l), watch: (l, fn) => policy.watch(l, fn) },
    store,
    events: { created: () => undefined, deleted: () => undefined, regenerated: () => undefined },
    learnIdentity: (id, labels) => ids.upsert(id, labels),
    log: () => undefined,
    now: () => 1n,
  });
  assert.equal(m.followsPolicyDiffs, true);
  duringAttach = () => ids.upsert(1000, client(0));
  const web = await m.create(input(1, ['k8s:app=web', NS]));
  assert.deepEqual(calls, ['attach 1 0', 'resync 1 1000'], 'the identity that arrived during the attach is written right after it');
  calls.length = 0;
  ids.upsert(1001, client(1));
  assert.deepEqual(calls, ['diff 1 +1001 -'], 'a new identity: one diff, no full list, no regeneration');
  calls.length = 0;
  await m.create(input(2, client(2)));
  assert.deepEqual(calls, ['diff 1 +301 -', 'attach 2 0'], 'a new local identity updates the peer by its diff before the new endpoint attaches');
  calls.length = 0;
  ids.delete(1001);
  assert.deepEqual(calls, ['diff 1 + -1001']);
  calls.length = 0;
  await m.delete({ id: web.id });
  ids.upsert(1002, client(3));
  assert.deepEqual(calls, ['detach 1'], 'a deleted endpoint follows no more diffs');
});
