import assert from 'node:assert/strict';
import { test } from 'node:test';
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
  store.import(doc, 'test', false);
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
  store.delete([], true);
  assert.equal(store.compute(web).ingressEnforced, false);
  store.release(web);
  assert.equal(store.engine.endpointCount, 0);
});
