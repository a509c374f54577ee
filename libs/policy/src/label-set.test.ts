import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LabelSet } from './label-set.js';

test('LabelSet indexes values by key and source', () => {
  const s = new LabelSet(['k8s:app=web', 'container:app=db', 'reserved:host', 'k8s:app=web']);
  assert.deepEqual(s.values('k8s', 'app'), ['web']);
  assert.deepEqual(s.values('any', 'app').sort(), ['db', 'web']);
  assert.equal(s.has('reserved', 'host'), true);
  assert.equal(s.has('k8s', 'host'), false);
  assert.equal(s.hasValue('any', 'app', 'db'), true);
  assert.equal(s.toString(), 'container:app=db;k8s:app=web;reserved:host');
});

test('reserved:world-ipv4 / world-ipv6 also answer to reserved:world', () => {
  assert.equal(new LabelSet(['reserved:world-ipv4']).has('reserved', 'world'), true);
  assert.equal(new LabelSet(['reserved:world-ipv6']).has('reserved', 'world'), true);
  assert.equal(new LabelSet(['reserved:host']).has('reserved', 'world'), false);
});
