// The Nodes service's answer: this node (source local, with its current pod CIDRs) merged
// with the kvstore's nodes, its own registration not listed twice, sorted by name.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NodeInfo } from '@cilium-ts/kvstore';
import { listNodes } from './api-nodes.js';

test('ListNodes lists the local node once (source local) and the other nodes (source kvstore), by name', () => {
  const local: NodeInfo = { name: 'n2', cluster: 'c1', ipv4: '192.168.200.2', podCIDR: '10.200.1.0/24', ipv6: 'fd00::2', podCIDRv6: 'fd00:10:200::100/120' };
  const seen: NodeInfo[] = [
    { name: 'n3', cluster: 'c1', ipv4: '192.168.200.3', podCIDR: '10.200.2.0/24', hubbleAddress: '127.0.0.1:4253' },
    // Our own registration as the watch reports it (it may lag behind, e.g. before the pod CIDR).
    { name: 'n2', cluster: 'c1', ipv4: '192.168.200.2' },
    { name: 'n1', cluster: 'c1', ipv4: '192.168.200.1', podCIDR: '10.200.0.0/24' },
  ];
  const res = listNodes({ localNode: () => local, clusterNodes: () => seen });
  assert.deepEqual(
    res.nodes.map((n) => [n.name, n.source, n.local, n.ipv4, n.podCidr, n.ipv6, n.podCidrV6, n.hubbleAddress]),
    [
      ['n1', 'kvstore', false, '192.168.200.1', '10.200.0.0/24', '', '', ''],
      ['n2', 'local', true, '192.168.200.2', '10.200.1.0/24', 'fd00::2', 'fd00:10:200::100/120', ''],
      ['n3', 'kvstore', false, '192.168.200.3', '10.200.2.0/24', '', '', '127.0.0.1:4253'],
    ],
  );
});

test('ListNodes of a node alone in the cluster lists just itself', () => {
  const res = listNodes({ localNode: () => ({ name: 'solo', cluster: 'c1' }), clusterNodes: () => [] });
  assert.deepEqual(res.nodes.map((n) => [n.name, n.local, n.ipv4]), [['solo', true, '']]);
});
