import assert from 'node:assert/strict';
import { test } from 'node:test';
import { entityMatches, isEntity } from './entity.js';
import { LabelSet } from './label-set.js';

const L = (...l: string[]): LabelSet => new LabelSet(l);

test('entity names', () => {
  for (const e of ['all', 'world', 'cluster', 'host', 'remote-node', 'health', 'init', 'unmanaged', 'kube-apiserver']) assert.equal(isEntity(e), true, e);
  assert.equal(isEntity('everything'), false);
});

test('entities select identities', () => {
  assert.equal(entityMatches('world', 2, L('reserved:world')), true);
  assert.equal(entityMatches('world', 9, L('reserved:world-ipv4')), true);
  assert.equal(entityMatches('world', 16777217, L('cidr:10.0.0.0/8', 'reserved:world')), true);
  assert.equal(entityMatches('world', 300, L('k8s:app=x')), false);
  assert.equal(entityMatches('cluster', 300, L('k8s:app=x')), true);
  assert.equal(entityMatches('cluster', 1, L('reserved:host')), true);
  assert.equal(entityMatches('cluster', 2, L('reserved:world')), false);
  assert.equal(entityMatches('host', 1, L('reserved:host')), true);
  assert.equal(entityMatches('host', 6, L('reserved:remote-node')), false);
  assert.equal(entityMatches('remote-node', 6, L('reserved:remote-node')), true);
  assert.equal(entityMatches('kube-apiserver', 7, L('reserved:kube-apiserver')), true);
  assert.equal(entityMatches('health', 300, L('k8s:app=x')), false);
  assert.equal(entityMatches('all', 300, L('k8s:app=x')), true);
});
