import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodePacket } from './packet.js';
import { buildPacket, TcpFlags, type PacketSpec } from '@cilium-ts/bpf/testing/packet-builder';
import { summarize } from './summary.js';

test('summarize: upstream-style strings', () => {
  const s = (l4: Omit<PacketSpec, 'src' | 'dst'>, src = '1.1.1.1', dst = '2.2.2.2') => summarize(decodePacket(buildPacket({ src, dst, ...l4 })));
  assert.equal(s({ protocol: 'tcp', sport: 1, dport: 2, tcpFlags: TcpFlags.ack | TcpFlags.syn | TcpFlags.fin | TcpFlags.psh }), 'TCP Flags: SYN, ACK, FIN, PSH');
  assert.equal(s({ protocol: 'udp', sport: 1, dport: 2 }), 'UDP');
  assert.equal(s({ protocol: 'icmp', icmpType: 8, icmpCode: 0 }), 'ICMPv4 EchoRequest');
  assert.equal(s({ protocol: 'icmp', icmpType: 3, icmpCode: 3 }), 'ICMPv4 DestinationUnreachable(Port)');
  assert.equal(s({ protocol: 'icmp', icmpType: 8, icmpCode: 4 }), 'ICMPv4 EchoRequest(Code: 4)');
  assert.equal(s({ protocol: 'icmpv6', icmpType: 135, icmpCode: 0 }, '::1', '::2'), 'ICMPv6 NeighborSolicitation');
  assert.equal(s({ protocol: 'icmpv6', icmpType: 200, icmpCode: 1 }, '::1', '::2'), 'ICMPv6 200(1)');
  const cut = buildPacket({ src: '1.1.1.1', dst: '2.2.2.2', protocol: 'udp', sport: 1, dport: 2 }).subarray(0, 36);
  assert.equal(summarize(decodePacket(cut)), 'IPv4');
});
