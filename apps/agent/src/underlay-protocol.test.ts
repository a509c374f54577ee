import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseUnderlayProtocol, tunnelMtu, underlayAddress, UnderlayProtocolError } from './underlay-protocol.js';

test('underlay protocol: ipv4 and ipv6 are accepted; anything else fails naming the flag and the values', () => {
  assert.equal(parseUnderlayProtocol('ipv4'), 'ipv4');
  assert.equal(parseUnderlayProtocol('ipv6'), 'ipv6');
  assert.throws(
    () => parseUnderlayProtocol('IPv6'),
    (e: unknown) => e instanceof UnderlayProtocolError && e.protocol === 'IPv6' && e.message === '--underlay-protocol IPv6: is not one of ipv4, ipv6',
  );
});

test('tunnel MTU leaves room for the outer header of the underlay\'s family', () => {
  assert.equal(tunnelMtu('ipv4'), 1450);
  assert.equal(tunnelMtu('ipv6'), 1430);
  assert.equal(tunnelMtu('ipv6', 9000), 8930);
});

test('a node is reached at its address of the underlay\'s family, else at the other one', () => {
  const both = { ipv4: '192.168.200.2', ipv6: 'fd00:192:168:200::2' };
  assert.equal(underlayAddress('ipv4', both), '192.168.200.2');
  assert.equal(underlayAddress('ipv6', both), 'fd00:192:168:200::2');
  assert.equal(underlayAddress('ipv6', { ipv4: '192.168.200.2' }), '192.168.200.2');
  assert.equal(underlayAddress('ipv4', { ipv6: 'fd00::2' }), 'fd00::2');
  assert.equal(underlayAddress('ipv4', { ipv4: '', ipv6: '' }), undefined);
});
