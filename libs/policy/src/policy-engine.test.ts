import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PolicyDiff } from './endpoint-policy-handle.js';
import { PolicyEngine } from './policy-engine.js';

const rule = {
  endpointSelector: { matchLabels: { app: 'web' } },
  ingress: [{ fromEndpoints: [{ matchLabels: { app: 'client' } }], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' as const }] }] }],
  labels: ['test:name=web'],
};

test('a new identity produces a one-entry diff, not a rebuild', () => {
  const engine = new PolicyEngine();
  engine.addRules([rule]);
  const h = engine.endpoint(['k8s:app=web']);
  const diffs: PolicyDiff[] = [];
  h.onChange((d) => diffs.push(d));
  assert.equal(h.ingressEnforced, true);
  assert.deepEqual(h.entries(), []);
  engine.setIdentity(300, ['k8s:app=client']);
  engine.setIdentity(301, ['k8s:app=other']);
  assert.equal(diffs.length, 1, 'an identity no selector picks produces no diff');
  assert.deepEqual(diffs[0]!.added, [{ direction: 'ingress', identity: 300, protocol: 6, port: 80, deny: false }]);
  assert.deepEqual(diffs[0]!.removed, []);
  assert.equal(diffs[0]!.enforcementChanged, false);
  engine.setIdentity(300, ['k8s:app=other']);
  assert.deepEqual(diffs[1]!.removed, [{ direction: 'ingress', identity: 300, protocol: 6, port: 80, deny: false }]);
  engine.deleteRules(['test:name=web']);
  assert.equal(diffs[2]!.enforcementChanged, true);
  assert.equal(h.ingressEnforced, false);
});

test('a wildcard deny covers the allows of every identity group', () => {
  const engine = new PolicyEngine({ identities: [[300, ['k8s:app=client']]] });
  engine.addRules([rule]);
  const h = engine.endpoint(['k8s:app=web']);
  assert.equal(h.entries().length, 1);
  engine.addRules([{ endpointSelector: {}, ingressDeny: [{ toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }] }] }] }]);
  assert.deepEqual(h.entries(), [{ direction: 'ingress', identity: 0, protocol: 6, port: 80, deny: true }]);
});

test('the selector cache shares one selection between endpoints and drops it with its last user', () => {
  const engine = new PolicyEngine();
  engine.addRules([rule]);
  const a = engine.endpoint(['k8s:app=web', 'k8s:n=1']);
  const b = engine.endpoint(['k8s:app=web', 'k8s:n=2']);
  assert.equal(engine.selectorCache.size, 1);
  a.close();
  assert.equal(engine.selectorCache.size, 1);
  b.close();
  assert.equal(engine.selectorCache.size, 0);
  assert.equal(engine.endpointCount, 0);
});

test('a batch of changes gives one diff per endpoint', () => {
  const engine = new PolicyEngine();
  engine.addRules([rule]);
  const h = engine.endpoint(['k8s:app=web']);
  let n = 0;
  h.onChange(() => n++);
  engine.batch(() => {
    for (let id = 300; id < 310; id++) engine.setIdentity(id, ['k8s:app=client']);
  });
  assert.equal(n, 1);
  assert.equal(h.entries().length, 10);
});
