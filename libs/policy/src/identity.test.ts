import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MinClusterIdentity, MinLocalIdentity, ReservedIdentity, StaticIdentityLookup, isWorldIdentity, reservedIdentityName } from './identity.js';

test('reserved identities and ranges follow docs/CONTRACTS.md', () => {
  assert.deepEqual(ReservedIdentity, {
    host: 1, world: 2, unmanaged: 3, health: 4, init: 5, 'remote-node': 6, 'kube-apiserver': 7, ingress: 8, 'world-ipv4': 9, 'world-ipv6': 10,
  });
  assert.equal(MinClusterIdentity, 256);
  assert.equal(MinLocalIdentity, 16777216);
  assert.equal(reservedIdentityName(6), 'remote-node');
  assert.equal(reservedIdentityName(256), undefined);
});

test('StaticIdentityLookup includes the reserved identities, sorted', () => {
  const l = new StaticIdentityLookup([[300, ['k8s:app=a']]]);
  const all = [...l.all()];
  assert.equal(all.length, 11);
  assert.deepEqual(all[0], [1, ['reserved:host']]);
  assert.deepEqual(all.at(-1), [300, ['k8s:app=a']]);
  l.delete(300);
  assert.equal(l.get(300), undefined);
});

test('isWorldIdentity: world reserved ids, CIDR labels and the local range', () => {
  assert.equal(isWorldIdentity(2, ['reserved:world']), true);
  assert.equal(isWorldIdentity(9, []), true);
  assert.equal(isWorldIdentity(MinLocalIdentity + 1, []), true);
  assert.equal(isWorldIdentity(300, ['cidr:10.0.0.0/8']), true);
  assert.equal(isWorldIdentity(300, ['k8s:app=a']), false);
  assert.equal(isWorldIdentity(1, ['reserved:host']), false);
});
