import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ipv4Allocator, IpamError, parseIpv4Cidr } from './ipam.js';

test('allocates sequentially after the router and skips used addresses', () => {
  const a = new Ipv4Allocator('10.200.1.0/24');
  assert.equal(a.router, '10.200.1.1');
  assert.equal(a.allocate('c1'), '10.200.1.2');
  assert.equal(a.allocate('c2', '10.200.1.3'), '10.200.1.3');
  assert.equal(a.allocate('c3'), '10.200.1.4');
  assert.equal(a.available, 256 - 3 - 3);
  assert.equal(a.releaseOwner('c2'), 1);
  assert.deepEqual(a.list().map((x) => x.owner), ['c1', 'c3']);
});

test('exhaustion, conflicts and range errors are IpamErrors with a code', () => {
  const a = new Ipv4Allocator('10.0.0.0/30');
  assert.equal(a.allocate('x'), '10.0.0.2');
  assert.throws(() => a.allocate('y'), (e: unknown) => e instanceof IpamError && e.code === 'exhausted');
  assert.throws(() => a.allocate('y', '10.0.0.2'), (e: unknown) => e instanceof IpamError && e.code === 'in-use');
  assert.throws(() => a.allocate('y', '10.0.0.1'), (e: unknown) => e instanceof IpamError && e.code === 'out-of-range');
  assert.throws(() => a.allocate('y', '10.0.0.9'), (e: unknown) => e instanceof IpamError && e.code === 'out-of-range');
  assert.equal(a.release('10.0.0.2'), true);
  assert.equal(a.allocate('y'), '10.0.0.2');
});

test('bad CIDRs are rejected with the reason', () => {
  assert.throws(() => parseIpv4Cidr('10.0.0.1/24'), /host bits/);
  assert.throws(() => parseIpv4Cidr('10.0.0.0'), /not an IPv4 CIDR/);
  assert.throws(() => parseIpv4Cidr('10.0.300.0/24'), /not an IPv4 address/);
  assert.throws(() => parseIpv4Cidr('10.0.0.0/31'), /prefix length/);
});
