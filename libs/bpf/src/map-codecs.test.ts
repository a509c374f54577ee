import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DatapathInputError } from './errors.js';
import { formatCidr, formatIp, parseCidr, parseIp } from './ip-address.js';
import { ctKey, endpointConfig, ipcacheKey, ipcacheValue, policyKey, policyMapEntries, policyValue } from './map-codecs.js';

test('IPv4 and IPv6 addresses parse to network-order bytes and format back', () => {
  assert.deepEqual([...parseIp('10.1.2.3').bytes], [10, 1, 2, 3]);
  const v6 = parseIp('fd00::1:2');
  assert.equal(v6.family, 6);
  assert.equal(v6.bytes.toString('hex'), 'fd000000000000000000000000010002');
  assert.equal(formatIp(6, v6.bytes), 'fd00::1:2');
  assert.equal(formatIp(6, parseIp('::ffff:10.0.0.1').bytes), '::ffff:a00:1');
  assert.equal(formatIp(6, parseIp('1:0:0:1:0:0:0:1').bytes), '1:0:0:1::1');
  assert.throws(() => parseIp('10.0.0.256', 'spec.ipv4'), (e: unknown) => e instanceof DatapathInputError && e.field === 'spec.ipv4');
});

test('CIDRs clear host bits, default to host routes and reject bad prefixes', () => {
  assert.equal(formatCidr(parseCidr('10.1.2.3/16')), '10.1.0.0/16');
  assert.equal(formatCidr(parseCidr('10.1.2.3')), '10.1.2.3/32');
  assert.equal(formatCidr(parseCidr('fd00::abcd/64')), 'fd00::/64');
  for (const bad of ['10.0.0.0/33', '10.0.0.0/', 'fd00::/129', '10.0.0.0/x']) assert.throws(() => parseCidr(bad), DatapathInputError, bad);
});

test('ipcache key counts the family bits in prefixlen and round-trips', () => {
  const k = ipcacheKey.encode(parseCidr('10.2.0.0/24'));
  assert.equal(k.length, 24);
  assert.equal(k.readUInt32LE(0), 32 + 24);
  assert.equal(k[4], 4);
  assert.equal(formatCidr(ipcacheKey.decode(k)), '10.2.0.0/24');
  const v = ipcacheValue.decode(ipcacheValue.encode({ identity: 16777217, hostIp: 'fd00::9' }));
  assert.deepEqual(v, { identity: 16777217, hostIp: 'fd00::9' });
});

test('ct, policy and config codecs match the C layouts', () => {
  const key = { family: 6 as const, saddr: 'fd00::1', daddr: 'fd00::2', sport: 1, dport: 443, protocol: 6, endpointId: 9, direction: 'egress' as const };
  const b = ctKey.encode(key);
  assert.equal(b.length, 44);
  assert.deepEqual(ctKey.decode(b), key);
  const pk = policyKey.encode({ direction: 'ingress', identity: 300, protocol: 17, port: 53 });
  assert.equal(pk.toString('hex'), '2c010000' + '3500' + '11' + '00');
  assert.deepEqual(policyValue.decode(policyValue.encode({ deny: true, proxyPort: 0 })), { deny: true, proxyPort: 0 });
  const cfg = { endpointId: 65535, identity: 70000, ifindex: 12, buildId: 0xdeadbeef };
  assert.deepEqual(endpointConfig.decode(endpointConfig.encode(cfg)), cfg);
});

test('policy entries expand port ranges, let deny win per key, and reject bad input', () => {
  const m = policyMapEntries([
    { direction: 'ingress', identity: 0, protocol: 6, port: 8000, endPort: 8002, deny: false, proxyPort: 15001 },
    { direction: 'ingress', identity: 0, protocol: 6, port: 8001, deny: true },
    { direction: 'ingress', identity: 0, protocol: 6, port: 8001, deny: false },
  ]);
  assert.equal(m.size, 3);
  assert.deepEqual(m.get('ingress/0/6/8001')?.value, { deny: true, proxyPort: 0 });
  assert.deepEqual(m.get('ingress/0/6/8002')?.value, { deny: false, proxyPort: 15001 });
  const bad: Array<[object, string]> = [
    [{ direction: 'up', identity: 0, protocol: 6, port: 1, deny: false }, 'policy[0].direction'],
    [{ direction: 'ingress', identity: -1, protocol: 6, port: 1, deny: false }, 'policy[0].identity'],
    [{ direction: 'ingress', identity: 0, protocol: 0, port: 80, deny: false }, 'policy[0].port'],
    [{ direction: 'ingress', identity: 0, protocol: 6, port: 90, endPort: 80, deny: false }, 'policy[0].endPort'],
    [{ direction: 'ingress', identity: 0, protocol: 6, port: 1, endPort: 65535, deny: false }, 'policy[0].endPort'],
  ];
  for (const [entry, field] of bad) {
    assert.throws(() => policyMapEntries([entry as never]), (e: unknown) => e instanceof DatapathInputError && e.field === field, field);
  }
});

test('policyMapEntries: a port of an L4 range that an L7 entry also covers keeps the redirect, in either order; a deny still wins', () => {
  const range = { direction: 'ingress', identity: 300, protocol: 6, port: 70, endPort: 90, deny: false } as const;
  const l7 = { direction: 'ingress', identity: 300, protocol: 6, port: 80, deny: false, proxyPort: 10001 } as const;
  for (const policy of [[range, l7], [l7, range]]) {
    const m = policyMapEntries(policy);
    assert.equal(m.get('ingress/300/6/80')?.value.proxyPort, 10001);
    assert.equal(m.get('ingress/300/6/81')?.value.proxyPort, 0);
  }
  const denied = policyMapEntries([l7, { ...range, deny: true }]);
  assert.deepEqual(denied.get('ingress/300/6/80')?.value, { deny: true, proxyPort: 0 });
});
