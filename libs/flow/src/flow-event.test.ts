import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { flow, observer, type Timestamp } from '@cilium-ts/api';
import { encodeEventRecord, type EventRecordInit } from '@cilium-ts/bpf/events';
import { DatapathFlowEvent } from './flow-event.js';
import { encodeFlowEventResponse } from './flow-response-encoder.js';
import type { EndpointInfo, IdentityInfo, IPCacheInfo } from './getters.js';
import { buildPacket, type PacketSpec, TcpFlags } from '@cilium-ts/bpf/testing/packet-builder';
import { Parser, type ParserOptions } from './parser.js';

/** Decodes a record that must be a flow (none of these tests sends debug records). */
function decodeFlow(parser: Parser, ...args: Parameters<Parser['decodeRecord']>): DatapathFlowEvent {
  const e = parser.decodeRecord(...args);
  assert.ok(e instanceof DatapathFlowEvent, 'a flow event');
  return e;
}

const XWING: EndpointInfo = {
  id: 101, identity: 256, namespace: 'default', podName: 'xwing', labels: ['k8s:io.kubernetes.pod.namespace=default', 'k8s:app=xwing'],
  hostIfindex: 7, hostIfname: 'lxcxwing',
};
const TIEFIGHTER: EndpointInfo = { id: 102, identity: 0, namespace: 'empire', podName: 'tiefighter', labels: [] };
const IDENTITIES = new Map<number, IdentityInfo>([[300, { id: 300, labels: ['k8s:app=deathstar', 'k8s:org=empire', 'cidr:ünïcødé'] }]]);
const IPCACHE = new Map<string, IPCacheInfo>([
  ['10.0.2.3', { identity: 300, namespace: 'empire', podName: 'deathstar-1', nodeName: 'node-2' }],
  ['fd00::2:3', { identity: 300, namespace: 'empire', podName: 'deathstar-1', nodeName: 'node-2' }],
  ['10.0.1.6', { identity: 301, namespace: 'empire', podName: '', nodeName: 'node-1' }],
]);

/** Parsers with every amount of metadata: none, endpoints only, everything. */
const PARSERS: [string, ParserOptions][] = [
  ['no metadata', { nodeName: 'node-1' }],
  ['endpoints', {
    nodeName: 'node-1',
    endpoints: {
      getEndpointByID: (id) => (id === 101 ? XWING : id === 102 ? TIEFIGHTER : undefined),
      getEndpointByIP: (ip) => (ip === '10.0.1.5' || ip === 'fd00::1:5' ? XWING : ip === '10.0.1.6' ? TIEFIGHTER : undefined),
    },
  }],
  ['everything', {
    nodeName: 'cluster-a/node-1',
    endpoints: {
      getEndpointByID: (id) => (id === 101 ? XWING : id === 102 ? TIEFIGHTER : undefined),
      getEndpointByIP: (ip) => (ip === '10.0.1.5' || ip === 'fd00::1:5' ? XWING : ip === '10.0.1.6' ? TIEFIGHTER : undefined),
    },
    identities: { getIdentity: (id) => IDENTITIES.get(id) },
    ipcache: { getIPIdentity: (ip) => IPCACHE.get(ip) },
  }],
];

/** Transport parts of the packets (ICMP becomes ICMPv6 between IPv6 addresses). */
type L4Spec = Omit<PacketSpec, 'src' | 'dst'>;
const L4S: L4Spec[] = [
  { protocol: 'tcp', sport: 43210, dport: 80, tcpFlags: TcpFlags.syn },
  { protocol: 'tcp', sport: 80, dport: 43210, tcpFlags: TcpFlags.syn | TcpFlags.ack | TcpFlags.ns | TcpFlags.cwr | TcpFlags.ece | TcpFlags.urg | TcpFlags.psh | TcpFlags.rst | TcpFlags.fin },
  { protocol: 'udp', sport: 5353, dport: 53 },
  { protocol: 'sctp', sport: 3868, dport: 3868 },
  { protocol: 'icmp', icmpType: 8, icmpCode: 0 },
  { protocol: 'icmp', icmpType: 3, icmpCode: 3 },
];
const ADDRS: [string, string][] = [['10.0.1.5', '10.0.2.3'], ['10.0.2.3', '10.0.1.5'], ['10.0.1.6', '8.8.8.8'], ['fd00::1:5', 'fd00::2:3'], ['2001:db8::8', 'fd00::1:5']];
const HEADERS: Omit<EventRecordInit, 'packet'>[] = [
  { type: 4, subType: 5, source: 101, egress: true, srcIdentity: 256, dstIdentity: 300, ifindex: 7 },
  { type: 4, subType: 0, source: 101, isReply: true, srcIdentity: 300, dstIdentity: 256, ifindex: 7 },
  { type: 4, subType: 12, source: 0, srcIdentity: 2, dstIdentity: 1, ifindex: 3 },
  { type: 1, subType: 133, source: 101, srcIdentity: 300, dstIdentity: 256, ifindex: 9 },
  { type: 1, subType: 0, source: 102, egress: true, dstEndpoint: 101 },
  { type: 1, subType: 250, source: 102, isReply: true, egress: true },
  { type: 5, source: 101, egress: true, allowed: true, matchType: 2, matchedPort: 80, matchedProtocol: 6, srcIdentity: 256, dstIdentity: 300 },
  { type: 5, source: 101, allowed: false, matchType: 4, srcIdentity: 6, dstIdentity: 256, ifindex: 0xfffffffe },
  { type: 9, subType: 3, source: 0 },
];

function records(): Buffer[] {
  const out: Buffer[] = [];
  for (const [h, header] of HEADERS.entries()) {
    for (const [a, [src, dst]] of ADDRS.entries()) {
      const l4 = L4S[(h + a) % L4S.length]!;
      const full = buildPacket({ src, dst, ...(l4.protocol === 'icmp' && src.includes(':') ? { ...l4, protocol: 'icmpv6', icmpType: 128 } : l4) });
      out.push(encodeEventRecord({ ...header, packet: full }));
      // Truncated captures: cut inside the L4 header, inside the IP header, Ethernet only, nothing.
      for (const cut of [full.length - 30, 20, 14, 0]) {
        if (cut >= 0 && cut < full.length) out.push(encodeEventRecord({ ...header, packet: full.subarray(0, cut) }));
      }
    }
  }
  return out;
}

const TIMES: Timestamp[] = [{ seconds: 1_700_000_000n, nanos: 123_456_789 }, { seconds: 0n, nanos: 0 }, { seconds: -62135596800n, nanos: 5 }];

function reference(e: Extract<ReturnType<Parser['decode']>, { kind: 'flow' }>): Buffer {
  return Buffer.from(observer.GetFlowsResponse.encode(observer.GetFlowsResponse.fromPartial({ flow: e.flow, nodeName: e.nodeName, time: e.time })).finish());
}

test('encodeFlowEventResponse writes the bytes ts-proto writes for the event\'s Flow (IPv4/IPv6, TCP/UDP/SCTP/ICMP, drop/trace/verdict, metadata or not)', () => {
  const recs = records();
  let checked = 0;
  for (const [what, options] of PARSERS) {
    const parser = new Parser(options);
    for (const [i, rec] of recs.entries()) {
      const time = TIMES[i % TIMES.length]!;
      const e = decodeFlow(parser, rec, time, options.nodeName);
      assert.ok(e instanceof DatapathFlowEvent);
      const direct = Buffer.from(encodeFlowEventResponse(e));
      assert.deepEqual(direct, reference(e), `${what}, record ${i}`);
      // And the bytes decode to exactly that Flow.
      assert.deepEqual(observer.GetFlowsResponse.decode(direct).flow, flow.Flow.fromPartial(e.flow), `${what}, record ${i} decoded`);
      checked++;
    }
  }
  assert.ok(checked > 500, `checked ${checked} records`);
});

test('DatapathFlowEvent.flow: built once, the parser\'s Flow, with endpoints the caller may change', () => {
  const parser = new Parser(PARSERS[2]![1]);
  const rec = encodeEventRecord({ type: 4, subType: 5, source: 101, egress: true, srcIdentity: 256, dstIdentity: 300, ifindex: 7,
    packet: buildPacket({ src: '10.0.1.5', dst: '10.0.2.3', protocol: 'tcp', sport: 40000, dport: 443, tcpFlags: TcpFlags.syn }) });
  const a = decodeFlow(parser, rec, TIMES[0]!, 'node-1');
  const b = decodeFlow(parser, rec, TIMES[0]!, 'node-1');
  assert.equal(a.flow, a.flow, 'cached');
  assert.equal(a.source, b.source, 'endpoints are shared between events');
  assert.notEqual(a.flow.source, b.flow.source, 'but each Flow gets its own copy');
  a.flow.source!.labels.push('mutated');
  assert.deepEqual(b.flow.source!.labels, ['k8s:app=xwing', 'k8s:io.kubernetes.pod.namespace=default']);
  assert.deepEqual(a.flow.destination, { ID: 0, identity: 300, namespace: 'empire', podName: 'deathstar-1', labels: ['cidr:ünïcødé', 'k8s:app=deathstar', 'k8s:org=empire'], workloads: [] });
  assert.deepEqual(a.flow.interface, { index: 7, name: 'lxcxwing' });
  assert.equal(a.flow.Summary, 'TCP Flags: SYN');
  assert.equal(a.flow.verdict, flow.Verdict.FORWARDED);
  assert.equal(a.flow.trafficDirection, flow.TrafficDirection.EGRESS);
  assert.equal(a.flow.traceObservationPoint, flow.TraceObservationPoint.FROM_ENDPOINT);
});

test('the endpoint memo follows metadata changes (a new object for a changed entry)', () => {
  let ep: EndpointInfo = { ...XWING };
  const parser = new Parser({ nodeName: 'n', endpoints: { getEndpointByID: (id) => (id === 101 ? ep : undefined), getEndpointByIP: () => undefined } });
  const rec = encodeEventRecord({ type: 4, source: 101, egress: true, packet: buildPacket({ src: '10.0.1.5', dst: '10.0.2.3', protocol: 'udp', sport: 1, dport: 2 }) });
  assert.equal(decodeFlow(parser, rec, TIMES[0]!, 'n').source.podName, 'xwing');
  ep = { ...XWING, podName: 'xwing-2', labels: ['k8s:app=xwing2'] };
  const after = decodeFlow(parser, rec, TIMES[0]!, 'n').source;
  assert.equal(after.podName, 'xwing-2');
  assert.deepEqual(after.labels, ['k8s:app=xwing2']);
});

test('encodeFlowEventResponse: random record headers and packets match ts-proto', () => {
  const parser = new Parser(PARSERS[2]![1]);
  const header = fc.record({
    type: fc.constantFrom(1, 4, 5, 6), subType: fc.nat({ max: 255 }), source: fc.constantFrom(0, 101, 102, 999), isReply: fc.boolean(), egress: fc.boolean(),
    ipv6: fc.boolean(), allowed: fc.boolean(), srcIdentity: fc.nat(), dstIdentity: fc.constantFrom(0, 1, 2, 256, 300, 16777217), dstEndpoint: fc.constantFrom(0, 101, 102),
    matchType: fc.nat({ max: 255 }), ifindex: fc.nat(),
  });
  fc.assert(
    fc.property(header, fc.uint8Array({ maxLength: 140 }), fc.constantFrom(...ADDRS), fc.constantFrom(...L4S), fc.boolean(), (h, junk, [src, dst], l4, useJunk) => {
      const packet = useJunk ? junk : buildPacket({ src, dst, ...(l4.protocol === 'icmp' && src.includes(':') ? { ...l4, protocol: 'icmpv6', icmpType: 129 } : l4) });
      const e = decodeFlow(parser, encodeEventRecord({ ...h, packet }), TIMES[0]!, 'node-1');
      assert.deepEqual(Buffer.from(encodeFlowEventResponse(e)), reference(e));
    }),
    { numRuns: 400 },
  );
});
