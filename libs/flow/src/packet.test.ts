import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeIPPacket, decodePacket } from './packet.js';
import { buildPacket, TcpFlags } from '@cilium-ts/bpf/testing/packet-builder';

test('decodePacket: Ethernet + IPv4 + TCP with flags', () => {
  const bytes = buildPacket({
    srcMac: '0a:00:00:00:00:01',
    dstMac: '0a:00:00:00:00:02',
    src: '10.0.1.5',
    dst: '10.0.2.9',
    protocol: 'tcp', sport: 43210, dport: 80, tcpFlags: TcpFlags.syn | TcpFlags.ack | TcpFlags.ns,
  });
  const p = decodePacket(bytes);
  assert.deepEqual(p.ethernet, { source: '0a:00:00:00:00:01', destination: '0a:00:00:00:00:02', etherType: 0x0800 });
  assert.deepEqual(p.ip, { version: 4, source: '10.0.1.5', destination: '10.0.2.9', protocol: 6 });
  assert.equal(p.l4?.kind, 'tcp');
  assert.ok(p.l4?.kind === 'tcp' && p.l4.sourcePort === 43210 && p.l4.destinationPort === 80);
  assert.ok(p.l4?.kind === 'tcp' && p.l4.flags.SYN && p.l4.flags.ACK && p.l4.flags.NS && !p.l4.flags.FIN && !p.l4.flags.RST);
  assert.deepEqual(p.layers, ['Ethernet', 'IPv4', 'TCP']);
  assert.equal(p.truncated, false);
});

test('decodePacket: IPv6 UDP, ICMPv4, ICMPv6, SCTP', () => {
  const udp6 = decodePacket(buildPacket({ src: 'fd00::1', dst: 'fd00:0:0:0:1::2', protocol: 'udp', sport: 5353, dport: 53 }));
  assert.deepEqual(udp6.ip, { version: 6, source: 'fd00::1', destination: 'fd00::1:0:0:2', protocol: 17 });
  assert.deepEqual(udp6.l4, { kind: 'udp', sourcePort: 5353, destinationPort: 53 });
  const icmp4 = decodePacket(buildPacket({ src: '1.2.3.4', dst: '5.6.7.8', protocol: 'icmp', icmpType: 8, icmpCode: 0 }));
  assert.deepEqual(icmp4.l4, { kind: 'icmpv4', type: 8, code: 0 });
  const icmp6 = decodePacket(buildPacket({ src: '::1', dst: '::2', protocol: 'icmpv6', icmpType: 128, icmpCode: 0 }));
  assert.deepEqual(icmp6.l4, { kind: 'icmpv6', type: 128, code: 0 });
  const sctp = decodePacket(buildPacket({ src: '1.2.3.4', dst: '5.6.7.8', protocol: 'sctp', sport: 1000, dport: 2000 }));
  assert.deepEqual(sctp.l4, { kind: 'sctp', sourcePort: 1000, destinationPort: 2000 });
  const raw = decodeIPPacket(buildPacket({ src: '1.2.3.4', dst: '5.6.7.8', protocol: 'udp', sport: 1, dport: 2 }).subarray(14));
  assert.deepEqual(raw.layers, ['IPv4', 'UDP']);
});

test('decodePacket: truncated packets keep the layers that were complete', () => {
  const full = buildPacket({ src: '10.0.0.1', dst: '10.0.0.2', protocol: 'tcp', sport: 1, dport: 2, tcpFlags: 0 });
  const cut = decodePacket(full.subarray(0, 14 + 20 + 6));
  assert.deepEqual(cut.layers, ['Ethernet', 'IPv4']);
  assert.equal(cut.ip?.source, '10.0.0.1');
  assert.equal(cut.l4, undefined);
  assert.equal(cut.truncated, true);
  const ethOnly = decodePacket(full.subarray(0, 20));
  assert.deepEqual(ethOnly.layers, ['Ethernet']);
  assert.equal(ethOnly.truncated, true);
  assert.deepEqual(decodePacket(Buffer.alloc(0)), { layers: [], truncated: false });
});

test('decodePacket: never throws on garbage or any truncation', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
    decodePacket(bytes);
    decodeIPPacket(bytes);
  }), { numRuns: 2000 });
  const v6 = buildPacket({ src: 'fd00::1', dst: 'fd00::2', protocol: 'tcp', sport: 1, dport: 2, tcpFlags: 0 });
  const headers = [0x0800, 0x86dd];
  fc.assert(fc.property(fc.nat(v6.length), fc.constantFrom(...headers), fc.uint8Array({ minLength: 60, maxLength: 60 }), (len, et, junk) => {
    const b = Buffer.concat([v6.subarray(0, 12), Buffer.from([et >> 8, et & 0xff]), Buffer.from(junk)]).subarray(0, 14 + len);
    decodePacket(b);
    decodePacket(v6.subarray(0, len));
  }), { numRuns: 1000 });
});
