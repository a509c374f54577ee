import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unreachableNodes } from './node-reachability.js';

test('a node is unreachable when one of its pod CIDRs has no route; this node never counts', () => {
  const nodes = [
    { name: 'self', podCIDR: '10.0.0.0/24' },
    { name: 'routed', podCIDR: '10.0.1.0/24', podCIDRv6: 'fd00:1::/120' },
    { name: 'half', podCIDR: '10.0.2.0/24', podCIDRv6: 'fd00:2::/120' },
    { name: 'none', podCIDR: '10.0.3.0/24' },
    { name: 'no-cidr-yet' },
  ];
  const routes = [
    { node: 'routed', podCIDR: '10.0.1.0/24' },
    { node: 'routed', podCIDR: 'fd00:1::/120' },
    { node: 'half', podCIDR: '10.0.2.0/24' },
    // a stale route of another node to that CIDR does not make "none" reachable
    { node: 'other', podCIDR: '10.0.3.0/24' },
  ];
  assert.deepEqual(unreachableNodes('self', nodes, routes), ['half', 'none']);
  assert.deepEqual(unreachableNodes('self', [], routes), []);
});
