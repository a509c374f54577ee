import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AnyExpandsTo, parseL4Protocol, protocolName, protocolNumber } from './protocol.js';

test('protocol names and numbers', () => {
  assert.equal(parseL4Protocol('tcp'), 'TCP');
  assert.equal(parseL4Protocol('icmp'), undefined);
  assert.equal(protocolNumber('TCP'), 6);
  assert.equal(protocolNumber('udp'), 17);
  assert.equal(protocolNumber('SCTP'), 132);
  assert.equal(protocolNumber('ICMPv6'), 58);
  assert.equal(protocolNumber('ANY'), 0);
  assert.equal(protocolNumber('47'), 47);
  assert.equal(protocolNumber('256'), undefined);
  assert.equal(protocolNumber('GRE'), undefined);
  assert.equal(protocolName(6), 'TCP');
  assert.equal(protocolName(0), 'ANY');
  assert.equal(protocolName(47), '47');
  assert.deepEqual(AnyExpandsTo, [6, 17, 132]);
});
