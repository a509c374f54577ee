// A GetFlowsResponse encoder for hubble-server's hot path: one pass into a reused scratch
// buffer (nested lengths reserved as one byte and widened in place when a message turns out
// longer than 127 bytes), ASCII strings copied by character code, timestamps as numbers, one
// allocation for the result. Produces the same bytes as ts-proto's encoder (fields in number
// order, proto3 defaults omitted). Flows with fields the parser never sets (L7, services, DNS
// names, workloads, negative int32s) or unusually large ones go through ts-proto instead.
import { flow, observer, type Timestamp } from '@cilium-ts/api';
import { RecordFlag, recordFlags, recordSubType, recordType } from '@cilium-ts/bpf/events';
import { WireWriter } from '@cilium-ts/grpc/wire';
import type { HubbleEvent } from './events.js';
import {
  DatapathFlowEvent,
  dropReasonDesc,
  recordDirection,
  recordDropReason,
  recordTracePoint,
  recordVerdict,
} from './flow-event.js';
import type { DecodedPacket, TcpFlagBits } from './packet.js';
import { summarize } from './summary.js';

const SCRATCH_SIZE = 1 << 16;
/** The scratch buffer every response is written into (then copied out once). */
const w = new WireWriter(SCRATCH_SIZE);

function timestamp(field: number, t: Timestamp): void {
  w.timestamp(field, Number(t.seconds), t.nanos);
}

function endpoint(field: number, e: flow.Endpoint): void {
  const start = w.begin(field);
  w.uint(1, e.ID);
  w.uint(2, e.identity);
  w.string(3, e.namespace);
  // Repeated strings keep empty elements.
  for (const l of e.labels) w.stringAlways(4, l);
  w.string(5, e.podName);
  w.end(start);
}

/** TCP.flags (field 3 of flow.TCP), from a flow.TCPFlags or a decoded packet (same nine booleans). */
function tcpFlags(fl: TcpFlagBits): void {
  const fs = w.begin(3);
  w.bool(1, fl.FIN);
  w.bool(2, fl.SYN);
  w.bool(3, fl.RST);
  w.bool(4, fl.PSH);
  w.bool(5, fl.ACK);
  w.bool(6, fl.URG);
  w.bool(7, fl.ECE);
  w.bool(8, fl.CWR);
  w.bool(9, fl.NS);
  w.end(fs);
}

function layer4(l4: flow.Layer4): void {
  const start = w.begin(6);
  if (l4.TCP) {
    const t = l4.TCP;
    const s = w.begin(1);
    w.uint(1, t.sourcePort);
    w.uint(2, t.destinationPort);
    if (t.flags) tcpFlags(t.flags);
    w.end(s);
  } else if (l4.UDP || l4.SCTP) {
    const ports = (l4.UDP ?? l4.SCTP)!;
    const s = w.begin(l4.UDP ? 2 : 5);
    w.uint(1, ports.sourcePort);
    w.uint(2, ports.destinationPort);
    w.end(s);
  } else if (l4.ICMPv4 || l4.ICMPv6) {
    const icmp = (l4.ICMPv4 ?? l4.ICMPv6)!;
    const s = w.begin(l4.ICMPv4 ? 3 : 4);
    w.uint(1, icmp.type);
    w.uint(2, icmp.code);
    w.end(s);
  }
  w.end(start);
}

const SAFE_SECONDS = BigInt(Number.MAX_SAFE_INTEGER);
const okTime = (t: Timestamp | undefined): boolean => t === undefined || (t.seconds >= 0n && t.seconds <= SAFE_SECONDS && t.nanos >= 0);

/** Whether the fast path covers `f`, and a bound on its string bytes that keeps it inside the scratch buffer. */
function fastPathable(f: flow.Flow, nodeName: string, time: Timestamp | undefined): boolean {
  if (
    f.l7 !== undefined || f.sourceService !== undefined || f.destinationService !== undefined ||
    f.sourceNames.length !== 0 || f.destinationNames.length !== 0 || !okTime(f.time) || !okTime(time) ||
    f.traceContext !== undefined || f.authType !== 0 || f.sockXlatePoint !== 0 || f.socketCookie !== 0n || f.cgroupId !== 0n ||
    f.verdict < 0 || f.Type < 0 || f.trafficDirection < 0 || f.traceObservationPoint < 0 || f.dropReasonDesc < 0 || f.debugCapturePoint < 0 ||
    (f.eventType !== undefined && (f.eventType.type < 0 || f.eventType.subType < 0)) || (f.IP !== undefined && f.IP.ipVersion < 0)
  ) {
    return false;
  }
  let chars = nodeName.length + f.nodeName.length + f.Summary.length + f.uuid.length + (f.interface?.name.length ?? 0);
  if (f.ethernet) chars += f.ethernet.source.length + f.ethernet.destination.length;
  if (f.IP) chars += f.IP.source.length + f.IP.destination.length;
  for (const e of [f.source, f.destination]) {
    if (!e) continue;
    if (e.workloads.length !== 0) return false;
    chars += e.namespace.length + e.podName.length + 8 * e.labels.length;
    for (const l of e.labels) chars += l.length;
  }
  return chars * 3 + 1024 < SCRATCH_SIZE;
}

function writeFlow(f: flow.Flow): void {
  if (f.time) timestamp(1, f.time);
  w.uint(2, f.verdict);
  w.uint(3, f.dropReason);
  if (f.ethernet) {
    const s = w.begin(4);
    w.string(1, f.ethernet.source);
    w.string(2, f.ethernet.destination);
    w.end(s);
  }
  if (f.IP) {
    const s = w.begin(5);
    w.string(1, f.IP.source);
    w.string(2, f.IP.destination);
    w.uint(3, f.IP.ipVersion);
    w.bool(4, f.IP.encrypted);
    w.end(s);
  }
  if (f.l4) layer4(f.l4);
  if (f.source) endpoint(8, f.source);
  if (f.destination) endpoint(9, f.destination);
  w.uint(10, f.Type);
  w.string(11, f.nodeName);
  w.bool(16, f.reply);
  if (f.eventType) {
    const s = w.begin(19);
    w.uint(1, f.eventType.type);
    w.uint(2, f.eventType.subType);
    w.end(s);
  }
  w.uint(22, f.trafficDirection);
  w.uint(23, f.policyMatchType);
  w.uint(24, f.traceObservationPoint);
  w.uint(25, f.dropReasonDesc);
  if (f.isReply !== undefined) {
    const s = w.begin(26);
    w.bool(1, f.isReply);
    w.end(s);
  }
  w.uint(27, f.debugCapturePoint);
  if (f.interface) {
    const s = w.begin(28);
    w.uint(1, f.interface.index);
    w.string(2, f.interface.name);
    w.end(s);
  }
  w.uint(29, f.proxyPort);
  w.string(34, f.uuid);
  w.string(100000, f.Summary);
}

/**
 * Encodes GetFlowsResponse{flow, node_name, time} for hubble-server's streams: the same bytes
 * as `observer.GetFlowsResponse.encode(...)`, with one allocation for parser-made flows; other
 * flows take the generic encoder.
 */
export function encodeFlowResponse(f: flow.Flow, nodeName: string, time: Timestamp | undefined): Uint8Array {
  if (!fastPathable(f, nodeName, time)) return observer.GetFlowsResponse.encode({ flow: f, nodeName, time }).finish();
  w.pos = 0;
  const s = w.begin(1);
  writeFlow(f);
  w.end(s);
  w.string(1000, nodeName);
  if (time) timestamp(1001, time);
  return w.bytes();
}

/**
 * Encoded endpoint fields (tag, length, payload) of the shared, immutable endpoints of
 * DatapathFlowEvents (EndpointResolver memoizes them), by field number.
 */
const encodedEndpoints = [new WeakMap<flow.Endpoint, Uint8Array>(), new WeakMap<flow.Endpoint, Uint8Array>()];

/** endpoint(field, e) for a shared endpoint: encoded once, copied after that. */
function sharedEndpoint(field: 8 | 9, e: flow.Endpoint): void {
  const cache = encodedEndpoints[field - 8]!;
  const bytes = cache.get(e);
  if (bytes !== undefined) {
    w.raw(bytes);
    return;
  }
  const start = w.pos;
  endpoint(field, e);
  cache.set(e, Uint8Array.prototype.slice.call(w.buf, start, w.pos));
}

/** Whether the direct path covers `e` (times ts-proto would write the same way, strings inside the scratch buffer). */
function eventFastPathable(e: DatapathFlowEvent, p: DecodedPacket): boolean {
  if (e.seconds < 0 || e.seconds > Number.MAX_SAFE_INTEGER) return false;
  let chars = 2 * e.nodeName.length + e.interfaceName.length + 36 + 64;
  if (p.ethernet) chars += 34;
  if (p.ip) chars += p.ip.source.length + p.ip.destination.length;
  for (const ep of [e.source, e.destination]) {
    chars += ep.namespace.length + ep.podName.length + 8 * ep.labels.length;
    for (const l of ep.labels) chars += l.length;
  }
  return chars * 3 + 1024 < SCRATCH_SIZE;
}

/** Writes the Flow of a DatapathFlowEvent: the same fields, in the same order, as writeFlow(event.flow). */
function writeEventFlow(e: DatapathFlowEvent, p: DecodedPacket): void {
  const r = e.record;
  const type = recordType(r);
  const subType = recordSubType(r);
  const flags = recordFlags(r);
  const isReply = (flags & RecordFlag.reply) !== 0;
  w.timestamp(1, e.seconds, e.nanos);
  w.uint(2, recordVerdict(type, flags));
  const dropReason = recordDropReason(r);
  w.uint(3, dropReason);
  if (p.ethernet) {
    const s = w.begin(4);
    w.string(1, p.ethernet.source);
    w.string(2, p.ethernet.destination);
    w.end(s);
  }
  if (p.ip) {
    const s = w.begin(5);
    w.string(1, p.ip.source);
    w.string(2, p.ip.destination);
    w.uint(3, p.ip.version === 4 ? flow.IPVersion.IPv4 : flow.IPVersion.IPv6);
    w.end(s);
  }
  const l4 = p.l4;
  if (l4 !== undefined) {
    const start = w.begin(6);
    if (l4.kind === 'tcp') {
      const s = w.begin(1);
      w.uint(1, l4.sourcePort);
      w.uint(2, l4.destinationPort);
      tcpFlags(l4.flags);
      w.end(s);
    } else if (l4.kind === 'udp' || l4.kind === 'sctp') {
      const s = w.begin(l4.kind === 'udp' ? 2 : 5);
      w.uint(1, l4.sourcePort);
      w.uint(2, l4.destinationPort);
      w.end(s);
    } else {
      const s = w.begin(l4.kind === 'icmpv4' ? 3 : 4);
      w.uint(1, l4.type);
      w.uint(2, l4.code);
      w.end(s);
    }
    w.end(start);
  }
  sharedEndpoint(8, e.source);
  sharedEndpoint(9, e.destination);
  w.uint(10, flow.FlowType.L3_L4);
  w.string(11, e.nodeName);
  w.bool(16, isReply);
  const et = w.begin(19);
  w.uint(1, type);
  w.uint(2, subType);
  w.end(et);
  w.uint(22, recordDirection(flags));
  w.uint(23, e.policyMatchType);
  w.uint(24, recordTracePoint(type, subType));
  w.uint(25, dropReason === 0 ? flow.DropReason.DROP_REASON_UNKNOWN : dropReasonDesc(dropReason));
  const ir = w.begin(26);
  w.bool(1, isReply);
  w.end(ir);
  const itf = w.begin(28);
  w.uint(1, e.ifindex);
  w.string(2, e.interfaceName);
  w.end(itf);
  w.string(34, e.uuid);
  w.string(100000, summarize(p));
}

/**
 * GetFlowsResponse bytes of a flow event: straight from the compact form for events the
 * parser made (DatapathFlowEvent; no flow.Flow is built), else encodeFlowResponse(event.flow).
 * The bytes are the same as ts-proto's encoding of {flow: event.flow, node_name, time}.
 */
export function encodeFlowEventResponse(e: Extract<HubbleEvent, { kind: 'flow' }>): Uint8Array {
  if (!(e instanceof DatapathFlowEvent)) return encodeFlowResponse(e.flow, e.nodeName, e.time);
  const packet = e.packet;
  if (!eventFastPathable(e, packet)) return encodeFlowResponse(e.flow, e.nodeName, e.time);
  w.pos = 0;
  const s = w.begin(1);
  writeEventFlow(e, packet);
  w.end(s);
  w.string(1000, e.nodeName);
  w.timestamp(1001, e.seconds, e.nanos);
  return w.bytes();
}
