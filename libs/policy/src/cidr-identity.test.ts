import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CIDRIdentityAllocator, CIDRIdentityError, rulePrefixes } from './cidr-identity.js';
import { computeEndpointPolicy } from './endpoint-policy.js';
import { MinLocalIdentity, ReservedIdentity } from './identity.js';
import { evaluateEntries } from './policy-entry.js';
import { type PrefixChange, PolicyEngine } from './policy-engine.js';

test('the allocator is deterministic, reference-counted and reuses the lowest free identity', () => {
  const a = new CIDRIdentityAllocator();
  assert.deepEqual(a.acquire('10.0.0.0/8'), { prefix: '10.0.0.0/8', identity: MinLocalIdentity, labels: ['cidr:10.0.0.0/8', 'reserved:world'], created: true });
  assert.equal(a.acquire('2001:db8:0::/32').identity, MinLocalIdentity + 1);
  assert.equal(a.acquire('10.0.0.0/8').created, false);
  assert.equal(a.release('10.0.0.0/8')?.deleted, false);
  assert.equal(a.release('10.0.0.0/8')?.deleted, true);
  assert.equal(a.release('10.0.0.0/8'), undefined);
  assert.equal(a.acquire('192.168.0.0/16').identity, MinLocalIdentity, 'the freed number is reused');
  assert.deepEqual(a.entries(), [
    { prefix: '192.168.0.0/16', identity: MinLocalIdentity },
    { prefix: '2001:db8::/32', identity: MinLocalIdentity + 1 },
  ]);
  assert.throws(() => a.acquire('10.0.0.1/8'), CIDRIdentityError);
});

test('lookup is longest-prefix match, falling back to world', () => {
  const a = new CIDRIdentityAllocator();
  const p8 = a.acquire('10.0.0.0/8').identity;
  const p16 = a.acquire('10.1.0.0/16').identity;
  assert.equal(a.lookup('10.1.2.3'), p16);
  assert.equal(a.lookup('10.2.0.1'), p8);
  assert.equal(a.lookup('11.0.0.1'), ReservedIdentity.world);
  assert.equal(a.lookup('2001:db8::1', true), ReservedIdentity['world-ipv6']);
});

test('rulePrefixes lists CIDRs and excepts, not the whole address space', () => {
  assert.deepEqual(
    rulePrefixes({ endpointSelector: {}, egress: [{ toCIDR: ['0.0.0.0/0', '1.1.1.1/32'] }], ingressDeny: [{ fromCIDRSet: [{ cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] }] }] }),
    ['1.1.1.1/32', '10.0.0.0/8', '10.1.0.0/16'],
  );
});

test('CIDR rules select the identities of prefixes inside them, minus the excepts', () => {
  const engine = new PolicyEngine();
  const changes: PrefixChange[] = [];
  engine.onPrefixChange((c) => changes.push(c));
  const h = engine.endpoint(['k8s:app=web']);
  engine.addRules([
    { endpointSelector: { matchLabels: { app: 'web' } }, egress: [{ toCIDRSet: [{ cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] }] }], labels: ['t:r=a'] },
    { endpointSelector: { matchLabels: { app: 'other' } }, egress: [{ toCIDR: ['10.2.0.5/32', '10.1.2.3/32'] }], labels: ['t:r=b'] },
  ]);
  const ids = engine.cidrIdentities;
  assert.deepEqual(changes, [{ upserted: ids.entries(), deleted: [] }]);
  const allowed = (ip: string): boolean => evaluateEntries(h.entries(), { direction: 'egress', identity: ids.lookup(ip), protocol: 6, port: 443 }, h.egressEnforced).allowed;
  assert.equal(allowed('10.9.9.9'), true, 'inside the /8');
  assert.equal(allowed('10.2.0.5'), true, 'a /32 identity inside the /8 is selected too');
  assert.equal(allowed('10.1.0.1'), false, 'the except carves the /16 out');
  assert.equal(allowed('10.1.2.3'), false, 'and every longer prefix inside it');
  assert.equal(allowed('8.8.8.8'), false, 'world is not in the /8');
  assert.deepEqual(h.policy(), computeEndpointPolicy(engine.repository, ['k8s:app=web'], engine.identities));
  engine.deleteRules(['t:r=b']);
  assert.deepEqual((changes[1] as PrefixChange).deleted.map((p) => p.prefix).sort(), ['10.1.2.3/32', '10.2.0.5/32']);
  assert.equal(ids.get('10.2.0.5/32'), undefined);
  assert.equal(allowed('10.2.0.5'), true, 'resolves to the /8 again');
});
