import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Prefix, formatIPAddr, formatPrefix, parseIPAddr, parsePrefix, prefixContains } from './prefix.js';

const P = (s: string): Prefix => {
  const p = parsePrefix(s);
  assert.equal(typeof p, 'object', `${s}: ${String(p)}`);
  return p as Prefix;
};

test('parseIPAddr handles IPv4, IPv6, :: and embedded IPv4', () => {
  assert.deepEqual(parseIPAddr('10.0.0.1'), { family: 4, addr: 0x0a000001n });
  assert.deepEqual(parseIPAddr('::1'), { family: 6, addr: 1n });
  assert.deepEqual(parseIPAddr('::'), { family: 6, addr: 0n });
  assert.deepEqual(parseIPAddr('::ffff:1.2.3.4'), { family: 6, addr: 0xffff01020304n });
  for (const bad of ['10.0.0', '10.0.0.256', '01.0.0.0', '1::2::3', '1:2:3:4:5:6:7:8:9', 'g::', '', '1.2.3.4.5', '1:2:3:4:5:6:7']) {
    assert.equal(parseIPAddr(bad), undefined, bad);
  }
});

test('parsePrefix / formatPrefix round-trip', () => {
  for (const s of ['10.0.0.0/8', '0.0.0.0/0', '192.168.1.1/32', '2001:db8::/32', '::/0', 'fd00::1/128', '2001:db8:0:1::/64']) {
    assert.equal(formatPrefix(P(s)), s);
  }
  assert.equal(formatPrefix(P('10.1.2.3')), '10.1.2.3/32');
  assert.equal(formatPrefix(P('2001-db8--/64')), '2001:db8::/64');
});

test('parsePrefix reasons', () => {
  assert.match(parsePrefix('10.0.0.1/8') as string, /host bits set; use the network address 10\.0\.0\.0\/8/);
  assert.match(parsePrefix('10.0.0.0/33') as string, /invalid prefix length \(0-32\)/);
  assert.match(parsePrefix('nope/8') as string, /is not a valid CIDR/);
});

test('prefixContains', () => {
  assert.equal(prefixContains(P('10.0.0.0/8'), P('10.1.0.0/16')), true);
  assert.equal(prefixContains(P('10.0.0.0/8'), P('11.0.0.0/16')), false);
  assert.equal(prefixContains(P('10.1.0.0/16'), P('10.0.0.0/8')), false);
  assert.equal(prefixContains(P('0.0.0.0/0'), P('1.2.3.4/32')), true);
  assert.equal(prefixContains(P('::/0'), P('1.2.3.4/32')), false);
});

test('formatIPAddr writes RFC 5952 and keeps an IPv4-mapped address as IPv6', () => {
  assert.equal(formatIPAddr({ family: 4, addr: 0x0a000001n }), '10.0.0.1');
  assert.equal(formatIPAddr({ family: 6, addr: 0xfd000000000000000000000000000001n }), 'fd00::1');
  assert.equal(formatIPAddr({ family: 6, addr: 0xffff01020304n }), '::ffff:102:304');
  assert.equal(formatPrefix(P('::ffff:0:0/96')), '::ffff:0:0/96');
});
