// A GetFlowsResponse encoder for hubble-server's hot path: one pass into a reused scratch
// buffer (nested lengths reserved as one byte and widened in place when a message turns out
// longer than 127 bytes), ASCII strings copied by character code, timestamps as numbers, one
// allocation for the result. Produces the same bytes as ts-proto's encoder (fields in number
// order, proto3 defaults omitted). Flows with fields the parser never sets (L7, services, DNS
// names, workloads, negative int32s) or unusually large ones go through ts-proto instead.
import { flow, observer, type Timestamp } from '@cilium-ts/api';
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
const scratch = Buffer.allocUnsafe(SCRATCH_SIZE);
let pos = 0;

function varintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

function varint(v: number): void {
  while (v >= 0x80) {
    scratch[pos++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  scratch[pos++] = v;
}

/** Tag of a field (1 byte below field 16, 2 below 2048, 3 for Summary's 100000). */
function tag(field: number, wireType: number): void {
  varint(field * 8 + wireType);
}

/** Starts a length-delimited field: writes its tag and reserves one length byte; returns where the payload starts. */
function begin(field: number): number {
  tag(field, 2);
  pos++;
  return pos;
}

/** Ends a length-delimited field started at `start`, widening the length prefix if needed. */
function end(start: number): void {
  const len = pos - start;
  if (len < 0x80) {
    scratch[start - 1] = len;
    return;
  }
  const extra = varintSize(len) - 1;
  scratch.copyWithin(start + extra, start, pos);
  const after = pos + extra;
  pos = start - 1;
  varint(len);
  pos = after;
}

function string(field: number, s: string): void {
  if (s === '') return;
  tag(field, 2);
  const n = s.length;
  if (n < 0x80) {
    const lenAt = pos++;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        pos = lenAt;
        utf8(s);
        return;
      }
      scratch[pos++] = c;
    }
    scratch[lenAt] = n;
    return;
  }
  utf8(s);
}

function utf8(s: string): void {
  const len = Buffer.byteLength(s, 'utf8');
  varint(len);
  pos += scratch.write(s, pos, len, 'utf8');
}

function uint(field: number, v: number): void {
  if (v === 0) return;
  tag(field, 0);
  varint(v);
}

function bool(field: number, v: boolean): void {
  if (!v) return;
  tag(field, 0);
  scratch[pos++] = 1;
}

function timestamp(field: number, t: Timestamp): void {
  const start = begin(field);
  if (t.seconds !== 0n) {
    scratch[pos++] = 8;
    varint(Number(t.seconds));
  }
  uint(2, t.nanos);
  end(start);
}

/** A Timestamp field from non-negative safe-integer seconds and nanos. */
function secondsNanos(field: number, seconds: number, nanos: number): void {
  const start = begin(field);
  if (seconds !== 0) {
    scratch[pos++] = 8;
    varint(seconds);
  }
  uint(2, nanos);
  end(start);
}

function endpoint(field: number, e: flow.Endpoint): void {
  const start = begin(field);
  uint(1, e.ID);
  uint(2, e.identity);
  string(3, e.namespace);
  for (const l of e.labels) {
    if (l !== '') {
      string(4, l);
    } else {
      // Repeated strings keep empty elements.
      tag(4, 2);
      scratch[pos++] = 0;
    }
  }
  string(5, e.podName);
  end(start);
}

/** TCP.flags (field 3 of flow.TCP), from a flow.TCPFlags or a decoded packet (same nine booleans). */
function tcpFlags(fl: TcpFlagBits): void {
  const fs = begin(3);
  bool(1, fl.FIN);
  bool(2, fl.SYN);
  bool(3, fl.RST);
  bool(4, fl.PSH);
  bool(5, fl.ACK);
  bool(6, fl.URG);
  bool(7, fl.ECE);
  bool(8, fl.CWR);
  bool(9, fl.NS);
  end(fs);
}

function layer4(l4: flow.Layer4): void {
  const start = begin(6);
  if (l4.TCP) {
    const t = l4.TCP;
    const s = begin(1);
    uint(1, t.sourcePort);
    uint(2, t.destinationPort);
    if (t.flags) tcpFlags(t.flags);
    end(s);
  } else if (l4.UDP || l4.SCTP) {
    const ports = (l4.UDP ?? l4.SCTP)!;
    const s = begin(l4.UDP ? 2 : 5);
    uint(1, ports.sourcePort);
    uint(2, ports.destinationPort);
    end(s);
  } else if (l4.ICMPv4 || l4.ICMPv6) {
    const icmp = (l4.ICMPv4 ?? l4.ICMPv6)!;
    const s = begin(l4.ICMPv4 ? 3 : 4);
    uint(1, icmp.type);
    uint(2, icmp.code);
    end(s);
  }
  end(start);
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
  uint(2, f.verdict);
  uint(3, f.dropReason);
  if (f.ethernet) {
    const s = begin(4);
    string(1, f.ethernet.source);
    string(2, f.ethernet.destination);
    end(s);
  }
  if (f.IP) {
    const s = begin(5);
    string(1, f.IP.source);
    string(2, f.IP.destination);
    uint(3, f.IP.ipVersion);
    bool(4, f.IP.encrypted);
    end(s);
  }
  if (f.l4) layer4(f.l4);
  if (f.source) endpoint(8, f.source);
  if (f.destination) endpoint(9, f.destination);
  uint(10, f.Type);
  string(11, f.nodeName);
  bool(16, f.reply);
  if (f.eventType) {
    const s = begin(19);
    uint(1, f.eventType.type);
    uint(2, f.eventType.subType);
    end(s);
  }
  uint(22, f.trafficDirection);
  uint(23, f.policyMatchType);
  uint(24, f.traceObservationPoint);
  uint(25, f.dropReasonDesc);
  if (f.isReply !== undefined) {
    const s = begin(26);
    bool(1, f.isReply);
    end(s);
  }
  uint(27, f.debugCapturePoint);
  if (f.interface) {
    const s = begin(28);
    uint(1, f.interface.index);
    string(2, f.interface.name);
    end(s);
  }
  uint(29, f.proxyPort);
  string(34, f.uuid);
  string(100000, f.Summary);
}

/**
 * Encodes GetFlowsResponse{flow, node_name, time} for hubble-server's streams: the same bytes
 * as `observer.GetFlowsResponse.encode(...)`, with one allocation for parser-made flows; other
 * flows take the generic encoder.
 */
export function encodeFlowResponse(f: flow.Flow, nodeName: string, time: Timestamp | undefined): Uint8Array {
  if (!fastPathable(f, nodeName, time)) return observer.GetFlowsResponse.encode({ flow: f, nodeName, time }).finish();
  pos = 0;
  const s = begin(1);
  writeFlow(f);
  end(s);
  string(1000, nodeName);
  if (time) timestamp(1001, time);
  return Buffer.from(scratch.subarray(0, pos));
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
    scratch.set(bytes, pos);
    pos += bytes.length;
    return;
  }
  const start = pos;
  endpoint(field, e);
  cache.set(e, Uint8Array.prototype.slice.call(scratch, start, pos));
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
  const type = r[0]!;
  const subType = r[1]!;
  const flags = r[15]!;
  const isReply = (flags & 1) !== 0;
  secondsNanos(1, e.seconds, e.nanos);
  uint(2, recordVerdict(type, flags));
  const dropReason = recordDropReason(r);
  uint(3, dropReason);
  if (p.ethernet) {
    const s = begin(4);
    string(1, p.ethernet.source);
    string(2, p.ethernet.destination);
    end(s);
  }
  if (p.ip) {
    const s = begin(5);
    string(1, p.ip.source);
    string(2, p.ip.destination);
    uint(3, p.ip.version === 4 ? flow.IPVersion.IPv4 : flow.IPVersion.IPv6);
    end(s);
  }
  const l4 = p.l4;
  if (l4 !== undefined) {
    const start = begin(6);
    if (l4.kind === 'tcp') {
      const s = begin(1);
      uint(1, l4.sourcePort);
      uint(2, l4.destinationPort);
      tcpFlags(l4.flags);
      end(s);
    } else if (l4.kind === 'udp' || l4.kind === 'sctp') {
      const s = begin(l4.kind === 'udp' ? 2 : 5);
      uint(1, l4.sourcePort);
      uint(2, l4.destinationPort);
      end(s);
    } else {
      const s = begin(l4.kind === 'icmpv4' ? 3 : 4);
      uint(1, l4.type);
      uint(2, l4.code);
      end(s);
    }
    end(start);
  }
  sharedEndpoint(8, e.source);
  sharedEndpoint(9, e.destination);
  uint(10, flow.FlowType.L3_L4);
  string(11, e.nodeName);
  bool(16, isReply);
  const et = begin(19);
  uint(1, type);
  uint(2, subType);
  end(et);
  uint(22, recordDirection(flags));
  uint(23, e.policyMatchType);
  uint(24, recordTracePoint(type, subType));
  uint(25, dropReason === 0 ? flow.DropReason.DROP_REASON_UNKNOWN : dropReasonDesc(dropReason));
  const ir = begin(26);
  bool(1, isReply);
  end(ir);
  const itf = begin(28);
  uint(1, e.ifindex);
  string(2, e.interfaceName);
  end(itf);
  string(34, e.uuid);
  string(100000, summarize(p));
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
  pos = 0;
  const s = begin(1);
  writeEventFlow(e, packet);
  end(s);
  string(1000, e.nodeName);
  secondsNanos(1001, e.seconds, e.nanos);
  return Buffer.from(scratch.subarray(0, pos));
}
