import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { agent, flow, observer, timestampFromNanos } from '@cilium-ts/api';
import { encodeEventRecord } from '@cilium-ts/bpf/events';
import { encodeFlowResponse } from './flow-response-encoder.js';
import { buildPacket, TcpFlags } from '@cilium-ts/bpf/testing/packet-builder';
import { Parser } from './parser.js';

const reference = (f: flow.Flow, nodeName: string, time: flow.Flow['time']) =>
  Buffer.from(observer.GetFlowsResponse.encode(observer.GetFlowsResponse.fromPartial({ flow: f, nodeName, time })).finish());

function assertSame(f: flow.Flow, nodeName: string, time: flow.Flow['time'], what: string): void {
  assert.deepEqual(Buffer.from(encodeFlowResponse(f, nodeName, time)), reference(f, nodeName, time), what);
}

test('encodeFlowResponse: same bytes as ts-proto for parser-made flows', () => {
  const ep = { id: 101, identity: 256, namespace: 'default', podName: 'xwing', labels: ['k8s:app=xwing', 'k8s:io.kubernetes.pod.namespace=default'], hostIfindex: 7, hostIfname: 'lxcxwing' };
  const parser = new Parser({ nodeName: 'node-1', endpoints: { getEndpointByID: (id) => (id === 101 ? ep : undefined), getEndpointByIP: (ip) => (ip === '10.0.1.5' ? ep : undefined) } });
  const records = [
    encodeEventRecord({ type: 4, subType: 5, source: 101, egress: true, srcIdentity: 256, dstIdentity: 257, ifindex: 7,
      packet: buildPacket({ src: '10.0.1.5', dst: '10.0.1.9', protocol: 'tcp', sport: 43210, dport: 80, tcpFlags: TcpFlags.syn | TcpFlags.ack | TcpFlags.ns }) }),
    encodeEventRecord({ type: 1, subType: 133, source: 101, srcIdentity: 300, dstIdentity: 256,
      packet: buildPacket({ src: '10.0.2.3', dst: '10.0.1.5', protocol: 'udp', sport: 5353, dport: 53 }) }),
    encodeEventRecord({ type: 5, source: 101, egress: true, allowed: true, matchType: 4, srcIdentity: 256, dstIdentity: 2,
      packet: buildPacket({ src: 'fd00::5', dst: '2001:db8::8', protocol: 'icmpv6', icmpType: 128, icmpCode: 0 }) }),
    encodeEventRecord({ type: 4, subType: 0, source: 0, isReply: true, packet: buildPacket({ src: '8.8.8.8', dst: '10.0.1.5', protocol: 'icmp', icmpType: 0, icmpCode: 0 }) }),
    encodeEventRecord({ type: 9, subType: 0, source: 0, packet: Buffer.alloc(0) }),
  ];
  for (const [i, record] of records.entries()) {
    for (const seconds of [1_700_000_000n, 0n, -62135596800n]) {
      const time = { seconds, nanos: i * 123_456_789 };
      const e = parser.decode(agent.MonitorEvent.fromPartial({ time, datapath: record }));
      assert.equal(e.kind, 'flow');
      if (e.kind === 'flow') assertSame(e.flow, e.nodeName, e.time, `record ${i} at ${seconds}`);
    }
  }
});

test('encodeFlowResponse: SCTP ports and the later upstream fields (uuid, trace context, auth type, socket fields) are encoded as ts-proto does', () => {
  const time = { seconds: 1_700_000_000n, nanos: 5 };
  const base = { time, nodeName: 'node-1', IP: { source: '10.0.0.1', destination: '10.0.0.2', ipVersion: flow.IPVersion.IPv4 } };
  assertSame(flow.Flow.fromPartial({ ...base, l4: { SCTP: { sourcePort: 36412, destinationPort: 38412 } } }), 'node-1', time, 'SCTP');
  assertSame(flow.Flow.fromPartial({ ...base, uuid: '6f1d3c2a-0000-4000-8000-000000000001' }), 'node-1', time, 'uuid');
  assertSame(flow.Flow.fromPartial({ ...base, traceContext: { parent: { traceId: '4bf92f3577b34da6a3ce929d0e0e4736' } } }), 'node-1', time, 'trace context');
  assertSame(flow.Flow.fromPartial({ ...base, authType: flow.AuthType.SPIRE, socketCookie: 7n, cgroupId: 9n }), 'node-1', time, 'auth and socket fields');
});

test('encodeFlowResponse: same bytes as ts-proto for arbitrary flows (fast path and fallback)', () => {
  const str = fc.string({ maxLength: 12 });
  const u32 = fc.nat({ max: 0xffffffff });
  const small = fc.nat({ max: 300 });
  const endpoint = fc.record({ ID: u32, identity: u32, namespace: str, podName: str, labels: fc.array(str, { maxLength: 3 }) });
  const flowArb = fc.record({
    time: fc.option(fc.record({ seconds: fc.bigInt({ min: -62135596800n, max: 253402300799n }), nanos: fc.nat({ max: 999_999_999 }) }), { nil: undefined }),
    verdict: fc.nat({ max: 5 }), dropReason: small, Type: fc.nat({ max: 2 }), nodeName: str, reply: fc.boolean(),
    isReply: fc.option(fc.boolean(), { nil: undefined }), trafficDirection: fc.nat({ max: 2 }), policyMatchType: small,
    traceObservationPoint: fc.constantFrom(0, 1, 5, 101), dropReasonDesc: fc.constantFrom(0, 133, 182), debugCapturePoint: fc.nat({ max: 11 }),
    proxyPort: fc.nat({ max: 65535 }), Summary: str,
    ethernet: fc.option(fc.record({ source: str, destination: str }), { nil: undefined }),
    IP: fc.option(fc.record({ source: str, destination: str, ipVersion: fc.nat({ max: 2 }), encrypted: fc.boolean() }), { nil: undefined }),
    l4: fc.option(fc.oneof(
      fc.record({ TCP: fc.record({ sourcePort: small, destinationPort: small, flags: fc.option(fc.record({ FIN: fc.boolean(), SYN: fc.boolean(), ACK: fc.boolean(), NS: fc.boolean() }), { nil: undefined }) }) }),
      fc.record({ UDP: fc.record({ sourcePort: small, destinationPort: small }) }),
      fc.record({ ICMPv4: fc.record({ type: small, code: small }) }),
      fc.record({ ICMPv6: fc.record({ type: small, code: small }) }),
      fc.constant({}),
    ), { nil: undefined }),
    source: fc.option(endpoint, { nil: undefined }), destination: fc.option(endpoint, { nil: undefined }),
    eventType: fc.option(fc.record({ type: fc.integer({ min: -1, max: 200 }), subType: small }), { nil: undefined }),
    interface: fc.option(fc.record({ index: u32, name: str }), { nil: undefined }),
    sourceNames: fc.array(str, { maxLength: 2 }),
    l7: fc.option(fc.constant({ type: 1, http: { code: 200, method: 'GET', url: '/', protocol: 'HTTP/1.1' } }), { nil: undefined, freq: 5 }),
  });
  fc.assert(
    fc.property(flowArb, str, (init, nodeName) => {
      const f = flow.Flow.fromPartial(init as flow.DeepPartial<flow.Flow>);
      assertSame(f, nodeName, f.time, 'arbitrary flow');
    }),
    { numRuns: 500 },
  );
  assertSame(flow.Flow.fromPartial({}), '', undefined, 'empty flow');
  assertSame(flow.Flow.fromPartial({ Summary: 'ünïcødé ✓' }), 'nöde', timestampFromNanos(1n), 'UTF-8 strings');
});
