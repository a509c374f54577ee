import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DatapathInputError } from './errors.js';
import { tunnelConfig } from './tunnel-config.js';

describe('tunnelConfig codec (struct tunnel_config)', () => {
  test('IPv4, IPv6 and dual-stack underlays round-trip; undefined is native routing (all zero)', () => {
    for (const c of [{ ifindex: 7, localIpv4: '192.168.200.1' }, { ifindex: 8, localIpv6: 'fd00:192:168:200::1' },
      { ifindex: 9, localIpv4: '10.0.0.1', localIpv6: 'fd00::1' }]) {
      const b = tunnelConfig.encode(c);
      assert.equal(b.length, tunnelConfig.size);
      assert.deepEqual(tunnelConfig.decode(b), c);
    }
    assert.deepEqual(tunnelConfig.encode(undefined), Buffer.alloc(24));
    assert.equal(tunnelConfig.decode(Buffer.alloc(24)), undefined);
  });

  test('addresses are stored as on the wire after the ifindex', () => {
    const b = tunnelConfig.encode({ ifindex: 1, localIpv4: '1.2.3.4', localIpv6: 'fd00::ff' });
    assert.deepEqual([...b.subarray(4, 8)], [1, 2, 3, 4]);
    assert.equal(b[8], 0xfd);
    assert.equal(b[23], 0xff);
  });

  test('no underlay address, a wrong family or a bad ifindex is refused naming the field', () => {
    assert.throws(() => tunnelConfig.encode({ ifindex: 1 }), (e: unknown) => e instanceof DatapathInputError && e.field === 'tunnel.localIpv4');
    assert.throws(() => tunnelConfig.encode({ ifindex: 1, localIpv4: 'fd00::1' }), (e: unknown) => e instanceof DatapathInputError && e.field === 'tunnel.localIpv4');
    assert.throws(() => tunnelConfig.encode({ ifindex: 1, localIpv6: '10.0.0.1' }), (e: unknown) => e instanceof DatapathInputError && e.field === 'tunnel.localIpv6');
    assert.throws(() => tunnelConfig.encode({ ifindex: 0, localIpv4: '10.0.0.1' }), (e: unknown) => e instanceof DatapathInputError && e.field === 'tunnel.ifindex');
  });
});
