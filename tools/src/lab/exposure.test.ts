import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isLoopback, parseListeners } from './exposure.js';

test('ss listeners parse into protocol, address, port and pids', () => {
  const ss = [
    'tcp   LISTEN 0      4096       127.0.0.1:2379       0.0.0.0:*    users:(("etcd",pid=10,fd=7))',
    'tcp   LISTEN 0      511                *:9963             *:*    users:(("node",pid=11,fd=21))',
    'tcp   LISTEN 0      511            [::1]:9701          [::]:*    users:(("node",pid=12,fd=20),("node",pid=13,fd=20))',
    'udp   UNCONN 0      0         0.0.0.0%lo:53         0.0.0.0:*    users:(("dnsmasq",pid=14,fd=4))',
    'tcp   LISTEN 0      128          0.0.0.0:2024       0.0.0.0:*',
    'garbage',
  ].join('\n');
  assert.deepEqual(parseListeners(ss), [
    { proto: 'tcp', address: '127.0.0.1', port: 2379, pids: [10] },
    { proto: 'tcp', address: '*', port: 9963, pids: [11] },
    { proto: 'tcp', address: '::1', port: 9701, pids: [12, 13] },
    { proto: 'udp', address: '0.0.0.0%lo', port: 53, pids: [14] },
    { proto: 'tcp', address: '0.0.0.0', port: 2024, pids: [] },
  ]);
});

test('only 127/8 and ::1 are loopback', () => {
  for (const a of ['127.0.0.1', '127.1.2.3', '::1']) assert.equal(isLoopback(a), true, a);
  for (const a of ['*', '0.0.0.0', '::', '192.168.1.1', '0.0.0.0%lo', '[::1]']) assert.equal(isLoopback(a), false, a);
});
