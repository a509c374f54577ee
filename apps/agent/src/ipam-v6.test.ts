import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IpamError } from './ipam.js';
import { Ipv6Allocator, bigIntToIpv6, ipv6ToBigInt, parseIpv6Cidr } from './ipam-v6.js';

test('IPv6 text round-trips in canonical form', () => {
  for (const [input, canon] of [
    ['fd00:10:200::', 'fd00:10:200::'],
    ['FD00:0010:0200:0000:0000:0000:0000:0102', 'fd00:10:200::102'],
    ['::1', '::1'],
    ['::', '::'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['fd00:0:0:1:0:0:1:1', 'fd00::1:0:0:1:1'],
  ]) {
    assert.equal(bigIntToIpv6(ipv6ToBigInt(input!)), canon, input);
  }
  for (const bad of ['1::2::3', '1:2:3', 'fd00::g', '10.0.0.1', '1:2:3:4:5:6:7:8:9', '12345::']) {
    assert.throws(() => ipv6ToBigInt(bad), (e: unknown) => e instanceof IpamError && e.code === 'invalid', bad);
  }
});

test('allocates sequentially after the router, skipping used addresses', () => {
  const a = new Ipv6Allocator('fd00:10:200::100/120');
  assert.equal(a.router, 'fd00:10:200::101');
  assert.equal(a.allocate('c1'), 'fd00:10:200::102');
  assert.equal(a.allocate('c2', 'fd00:10:200:0::103'), 'fd00:10:200::103');
  assert.equal(a.allocate('c3'), 'fd00:10:200::104');
  assert.equal(a.available, 256 - 2 - 3);
  assert.equal(a.releaseOwner('c2'), 1);
  assert.deepEqual(a.list(), [
    { ip: 'fd00:10:200::102', owner: 'c1' },
    { ip: 'fd00:10:200::104', owner: 'c3' },
  ]);
});

test('IPv6 exhaustion, conflicts and range errors carry a code', () => {
  const a = new Ipv6Allocator('fd00::/126');
  assert.equal(a.allocate('x'), 'fd00::2');
  assert.equal(a.allocate('x'), 'fd00::3');
  assert.throws(() => a.allocate('y'), (e: unknown) => e instanceof IpamError && e.code === 'exhausted');
  assert.throws(() => a.allocate('y', 'fd00::2'), (e: unknown) => e instanceof IpamError && e.code === 'in-use');
  assert.throws(() => a.allocate('y', 'fd00::1'), (e: unknown) => e instanceof IpamError && e.code === 'out-of-range');
  assert.throws(() => a.allocate('y', 'fd00::4'), (e: unknown) => e instanceof IpamError && e.code === 'out-of-range');
  assert.equal(a.release('fd00::2'), true);
  assert.equal(a.allocate('y'), 'fd00::2');
});

test('a /64 pool reports a capped free count and allocates', () => {
  const a = new Ipv6Allocator('fd00:10:200:1::/64');
  assert.equal(a.available, 0xffffffff);
  assert.equal(a.allocate('c'), 'fd00:10:200:1::2');
  assert.equal(a.router, 'fd00:10:200:1::1');
});

test('bad IPv6 CIDRs are rejected with the reason', () => {
  assert.throws(() => parseIpv6Cidr('fd00::1/120'), /host bits/);
  assert.throws(() => parseIpv6Cidr('fd00::'), /not an IPv6 CIDR/);
  assert.throws(() => parseIpv6Cidr('fd00::/48'), /prefix length/);
  assert.throws(() => parseIpv6Cidr('fd00::/127'), /prefix length/);
  assert.equal(parseIpv6Cidr('FD00:10:200:0::100/120').text, 'fd00:10:200::100/120');
});
