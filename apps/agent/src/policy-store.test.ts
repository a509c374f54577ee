import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePolicyDocument } from '@cilium-ts/policy';
import { IdentityCache } from './identity-cache.js';
import { PolicyStore } from './policy-store.js';

const doc = JSON.stringify({
  apiVersion: 'cilium.io/v2',
  kind: 'CiliumNetworkPolicy',
  metadata: { name: 'web', namespace: 'default' },
  spec: { endpointSelector: { matchLabels: { app: 'web' } }, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'client' } }], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }] }] }] },
});
const web = ['k8s:app=web', 'k8s:io.kubernetes.pod.namespace=default'];

test('compute follows identity and rule changes incrementally', () => {
  const ids = new IdentityCache();
  const store = new PolicyStore(ids);
  store.change([], parsePolicyDocument(doc, 'test'), 'test');
  assert.deepEqual(store.compute(web).entries, []);
  const diffs: number[] = [];
  store.handle(web).onChange((d) => diffs.push(d.added.length - d.removed.length));
  ids.upsert(300, ['k8s:app=client', 'k8s:io.kubernetes.pod.namespace=default']);
  const p = store.compute(web);
  assert.equal(p.ingressEnforced, true);
  assert.deepEqual(p.entries, [{ direction: 'ingress', identity: 300, protocol: 6, port: 80, deny: false }]);
  ids.delete(300);
  assert.deepEqual(store.compute(web).entries, []);
  assert.deepEqual(diffs, [1, -1]);
  store.change(store.repo.ruleRefs().map((r) => r.key), [], 'test');
  assert.equal(store.compute(web).ingressEnforced, false);
  store.release(web);
  assert.equal(store.engine.endpointCount, 0);
});

test('watch delivers the diffs of a label set; a watched handle is never evicted, an unwatched one may be', () => {
  const ids = new IdentityCache();
  const store = new PolicyStore(ids);
  store.change([], parsePolicyDocument(doc, 'test'), 'test');
  const seen: string[] = [];
  const off = store.watch(web, (d) => seen.push(`+${d.added.map((e) => e.identity).join(',')} -${d.removed.map((e) => e.identity).join(',')}`));
  for (let i = 0; i < PolicyStore.MaxHandles + 5; i++) store.compute([`k8s:app=other${i}`]);
  ids.upsert(301, ['k8s:app=client', 'k8s:io.kubernetes.pod.namespace=default']);
  assert.deepEqual(seen, ['+301 -'], 'the watched handle survived eviction and reported the new identity');
  off();
  off();
  for (let i = 0; i < PolicyStore.MaxHandles + 5; i++) store.compute([`k8s:app=more${i}`]);
  ids.delete(301);
  assert.deepEqual(seen, ['+301 -'], 'nothing after unwatch');
});

