import assert from 'node:assert/strict';
import { test } from 'node:test';
import { flow, Timestamp } from '@cilium-ts/api';
import { debugMessage, DebugType, encodeEventRecord } from '@cilium-ts/bpf/events';
import { DebugRecordError, decodeDebugRecord } from './debug-event.js';
import { DatapathFlowEvent } from './flow-event.js';
import type { EndpointGetter, EndpointInfo } from './getters.js';
import { buildPacket } from '@cilium-ts/bpf/testing/packet-builder';
import { ParseError, Parser } from './parser.js';

/** A debug record as the datapath writes it (events.h struct debug_record). */
function debugRecord(r: { subType: number; source: number; hash?: number; args: [number, number, number]; ipv6?: boolean }): Buffer {
  return encodeEventRecord({ type: 2, ...r, ifindex: 7 });
}

const XWING: EndpointInfo = { id: 101, identity: 256, namespace: 'default', podName: 'xwing', labels: ['k8s:io.kubernetes.pod.namespace=default', 'k8s:app=xwing'] };
const endpoints: EndpointGetter = { getEndpointByID: (id) => (id === 101 ? XWING : undefined), getEndpointByIP: () => undefined };
/** Two 16-bit halves as one u32 arg. */
const hi16 = (hi: number, lo: number): number => ((hi << 16) | lo) >>> 0;
const ip = (a: number, b: number, c: number, d: number): number => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;

/** One record per DBG code the datapath emits, with plausible args. */
const EMITTED: { code: number; name: keyof typeof flow.DebugEventType; args: [number, number, number]; ipv6?: boolean }[] = [
  { code: DebugType.localDelivery, name: 'DBG_LOCAL_DELIVERY', args: [102, 256, 0] },
  { code: DebugType.encap, name: 'DBG_ENCAP', args: [ip(192, 168, 200, 2), 256, 0] },
  { code: DebugType.policyDenied, name: 'DBG_POLICY_DENIED', args: [300, 256, hi16(53, 17)] },
  { code: DebugType.ctMatch, name: 'DBG_CT_MATCH', args: [1, 257, 0] },
  { code: DebugType.decap, name: 'DBG_DECAP', args: [256, ip(192, 168, 200, 1), 0] },
  { code: DebugType.l4Policy, name: 'DBG_L4_POLICY', args: [256, 257, hi16(80, 6)] },
  { code: DebugType.ctLookup4First, name: 'DBG_CT_LOOKUP4_1', args: [ip(10, 0, 1, 5), ip(10, 0, 1, 9), hi16(43210, 80)] },
  { code: DebugType.ctLookup4Second, name: 'DBG_CT_LOOKUP4_2', args: [6, 1, 0] },
  { code: DebugType.ctCreated4, name: 'DBG_CT_CREATED4', args: [257, 0, 1] },
  { code: DebugType.ctLookup6First, name: 'DBG_CT_LOOKUP6_1', args: [0x00010005, 0x00010009, hi16(43210, 80)], ipv6: true },
  { code: DebugType.ctLookup6Second, name: 'DBG_CT_LOOKUP6_2', args: [17, 0, 2], ipv6: true },
  { code: DebugType.ctCreated6, name: 'DBG_CT_CREATED6', args: [257, 0, 0], ipv6: true },
];

test('every DBG code the datapath emits: type, source endpoint, hash, args and the cilium monitor text', () => {
  assert.equal(EMITTED.length, Object.keys(DebugType).length, 'the table covers every code the datapath emits');
  for (const e of EMITTED) {
    const got = decodeDebugRecord(debugRecord({ subType: e.code, source: 101, hash: 0xdeadbeef, args: e.args, ipv6: e.ipv6 }), endpoints);
    assert.equal(got.type, flow.DebugEventType[e.name], e.name);
    assert.equal(flow.debugEventTypeToJSON(got.type), e.name);
    assert.deepEqual(got.source, flow.Endpoint.fromPartial({
      ID: 101, identity: 256, namespace: 'default', podName: 'xwing', labels: ['k8s:app=xwing', 'k8s:io.kubernetes.pod.namespace=default'],
    }));
    assert.equal(got.hash, 0xdeadbeef);
    assert.deepEqual([got.arg1, got.arg2, got.arg3], e.args);
    assert.equal(got.message, debugMessage({ subType: e.code, args: e.args, ipv6: e.ipv6 ?? false }), e.name);
    assert.doesNotMatch(got.message, /^Unknown message type/, e.name);
    assert.equal(got.cpu, undefined, 'the record does not carry the CPU');
  }
});

test('messages are the cilium monitor wording (spot checks)', () => {
  const text = (code: number, args: [number, number, number]) => decodeDebugRecord(debugRecord({ subType: code, source: 101, args })).message;
  assert.equal(text(DebugType.localDelivery, [102, 256, 0]), 'Attempting local delivery for container id 102 from seclabel 256');
  assert.equal(text(DebugType.ctLookup4First, [ip(10, 0, 1, 5), ip(10, 0, 1, 9), hi16(43210, 80)]), 'Conntrack lookup 1/2: src=10.0.1.5:43210 dst=10.0.1.9:80');
  assert.equal(text(DebugType.policyDenied, [300, 256, hi16(53, 17)]), 'Policy evaluation would deny packet from 300 to 256 (UDP/53)');
});

test('unknown code: the number as type, args kept, a message naming it; unknown endpoint: only its id; id 0: no source', () => {
  const got = decodeDebugRecord(debugRecord({ subType: 99, source: 4242, hash: 1, args: [1, 2, 3] }), endpoints);
  assert.equal(got.type, 99);
  assert.deepEqual(got.source, flow.Endpoint.fromPartial({ ID: 4242 }));
  assert.deepEqual([got.hash, got.arg1, got.arg2, got.arg3], [1, 1, 2, 3]);
  assert.equal(got.message, 'Unknown message type 99 arg1=1 arg2=2 arg3=3');
  const noGetter = decodeDebugRecord(debugRecord({ subType: 2, source: 101, args: [1, 2, 0] }));
  assert.deepEqual(noGetter.source, flow.Endpoint.fromPartial({ ID: 101 }));
  assert.equal(decodeDebugRecord(debugRecord({ subType: 2, source: 0, args: [1, 2, 0] })).source, undefined);
  const max = decodeDebugRecord(debugRecord({ subType: 2, source: 1, hash: 0xffffffff, args: [0xffffffff, 0x80000000, 0] }));
  assert.deepEqual([max.hash, max.arg1, max.arg2], [0xffffffff, 0xffffffff, 0x80000000], 'u32 values stay unsigned');
});

test('decodeDebugRecord refuses other records and short ones', () => {
  assert.throws(() => decodeDebugRecord(debugRecord({ subType: 2, source: 1, args: [0, 0, 0] }).subarray(0, 40)), (e: DebugRecordError) => e.length === 40 && /need 48/.test(e.message));
  const trace = encodeEventRecord({ type: 4, source: 101, packet: buildPacket({ src: '10.0.0.1', dst: '10.0.0.2', protocol: 'udp', sport: 1, dport: 2 }) });
  assert.throws(() => decodeDebugRecord(trace), (e: DebugRecordError) => e.type === 4 && /not 2 \(debug\)/.test(e.message));
});

test('the parser turns debug records into debug events, never flows (batched path, MonitorEvent path, decodeDatapath)', () => {
  const parser = new Parser({ nodeName: 'node-1', endpoints });
  const rec = debugRecord({ subType: DebugType.ctMatch, source: 101, hash: 5, args: [1, 257, 0] });
  const e = parser.decodeRecordAt(rec, 1_700_000_000, 42, 'node-1');
  assert.ok(!(e instanceof DatapathFlowEvent));
  assert.equal(e.kind, 'debug');
  assert.ok(e.kind === 'debug');
  assert.deepEqual(e.time, Timestamp.create({ seconds: 1_700_000_000n, nanos: 42 }));
  assert.equal(e.nodeName, 'node-1');
  assert.equal(e.debug.type, flow.DebugEventType.DBG_CT_MATCH);
  assert.equal(e.debug.source?.podName, 'xwing');
  const viaEvent = parser.decode({ time: Timestamp.create({ seconds: 5n, nanos: 6 }), nodeName: 'other', datapath: rec } as Parameters<Parser['decode']>[0]);
  assert.equal(viaEvent.kind, 'debug');
  assert.equal(viaEvent.nodeName, 'other');
  assert.throws(() => parser.decodeDatapath(rec, Timestamp.create({ seconds: 1n, nanos: 0 }), 'n'), ParseError);
});
