import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PolicyEngine } from './policy-engine.js';
import { Repository } from './repository.js';
import { selectorReport } from './selector-report.js';

const webRule = {
  endpointSelector: { matchLabels: { app: 'web' } },
  ingress: [{ fromEndpoints: [{ matchLabels: { app: 'client' } }], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' as const }] }] }],
  egress: [{ toEntities: ['world' as const] }],
  labels: ['test:name=web'],
};

test('each selector in use with its identities, users and rule labels; dropped with its last user', () => {
  const repository = new Repository();
  const engine = new PolicyEngine({ repository, identities: [[300, ['k8s:app=client']], [301, ['k8s:app=client', 'k8s:n=2']], [302, ['k8s:app=other']]] });
  engine.addRules([webRule]);
  assert.deepEqual(selectorReport(engine.selectorCache, repository.ruleRefs()), [], 'no endpoint: no selector in use');
  const a = engine.endpoint(['k8s:app=web', 'k8s:n=1']);
  const b = engine.endpoint(['k8s:app=web', 'k8s:n=2']);
  const report = selectorReport(engine.selectorCache, repository.ruleRefs());
  assert.equal(report.length, 2, JSON.stringify(report));
  const client = report.find((r) => r.selector.includes('app=client'));
  assert.deepEqual(client && { ...client, selector: '' }, { selector: '', identities: [300, 301], users: 2, labels: ['test:name=web'] });
  const world = report.find((r) => r.selector.includes('world'));
  assert.equal(world?.users, 2);
  assert.ok(world?.identities.includes(2), `world selects reserved:world (2): ${JSON.stringify(world)}`);
  engine.setIdentity(303, ['k8s:app=client']);
  assert.deepEqual(selectorReport(engine.selectorCache, repository.ruleRefs()).find((r) => r.selector.includes('app=client'))?.identities, [300, 301, 303]);
  a.close();
  assert.equal(selectorReport(engine.selectorCache, repository.ruleRefs()).find((r) => r.selector.includes('app=client'))?.users, 1);
  b.close();
  assert.deepEqual(selectorReport(engine.selectorCache, repository.ruleRefs()), []);
});
