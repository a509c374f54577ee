import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodePacket } from './packet.js';
import { buildPacket } from './testing/packet-builder.js';
import { summarize } from './summary.js';

test('summarize: upstream-style strings', () => {
  const s = (l4: Parameters<typeof buildPacket>[0]['l4'], src = '1.1.1.1', dst = '2.2.2.2') => summarize(decodePacket(buildPacket({ src, dst, l4 })));
  assert.equal(s({ kind: 'tcp', sourcePort: 1, destinationPort: 2, flags: { ACK: true, SYN: true, FIN: true, PSH: true } }), 'TCP Flags: SYN, ACK, FIN, PSH');
  assert.equal(s({ kind: 'udp', sourcePort: 1, destinationPort: 2 }), 'UDP');
  assert.equal(s({ kind: 'icmp', type: 8, code: 0 }), 'ICMPv4 EchoRequest');
  assert.equal(s({ kind: 'icmp', type: 3, code: 3 }), 'ICMPv4 DestinationUnreachable(Port)');
  assert.equal(s({ kind: 'icmp', type: 8, code: 4 }), 'ICMPv4 EchoRequest(Code: 4)');
  assert.equal(s({ kind: 'icmp', type: 135, code: 0 }, '::1', '::2'), 'ICMPv6 NeighborSolicitation');
  assert.equal(s({ kind: 'icmp', type: 200, code: 1 }, '::1', '::2'), 'ICMPv6 200(1)');
  const cut = buildPacket({ src: '1.1.1.1', dst: '2.2.2.2', l4: { kind: 'udp', sourcePort: 1, destinationPort: 2 } }).subarray(0, 36);
  assert.equal(summarize(decodePacket(cut)), 'IPv4');
});
