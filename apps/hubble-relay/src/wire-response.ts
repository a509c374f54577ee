// GetFlowsResponse bytes relayed as they came: the relay reads only what it needs (the oneof
// member present and `time`, field 1001) by scanning the top-level fields, and writes the same
// bytes to its caller, instead of decoding and re-encoding every flow. The sort key is kept as
// two plain numbers (seconds, nanos) so the merge compares without BigInt.
import { observer } from '@cilium-ts/api';

/** Which `response_types` member a GetFlowsResponse carries; undefined for none. */
export type ResponseKind = 'flow' | 'node_status' | 'lost_events' | undefined;

/** A GetFlowsResponse kept as its encoded bytes, with its sort key. */
export interface WireResponse {
  /** The encoded GetFlowsResponse, forwarded unchanged. */
  readonly wire: Uint8Array;
  /** `time.seconds` (0 when `time` is absent). */
  readonly sec: number;
  /** `time.nanos` (0 when `time` is absent). */
  readonly nsec: number;
  /** Whether `time` (1001) was present. */
  readonly hasTime: boolean;
  /** Which `response_types` member is set (flow 1, node_status 2, lost_events 3). */
  readonly kind: ResponseKind;
}

/** Raised for bytes that are not a well-formed protobuf message. */
export class WireFormatError extends Error {
  override readonly name = 'WireFormatError';
  constructor(readonly reason: string) {
    super(`relay: cannot read a GetFlowsResponse from a peer: ${reason}; the peer does not speak observer.Observer`);
  }
}

// The scanner keeps its read position here instead of returning [value, pos] pairs, which
// would allocate an array per varint.
let pos = 0;

/** Reads an unsigned varint at `pos` as a number (exact below 2^53). */
function varint(buf: Uint8Array, end: number): number {
  if (pos >= end) throw new WireFormatError('truncated varint');
  let b = buf[pos++]!;
  if (b < 0x80) return b;
  let value = b & 0x7f;
  let mul = 128;
  for (let i = 1; i < 10; i++) {
    if (pos >= end) throw new WireFormatError('truncated varint');
    b = buf[pos++]!;
    value += (b & 0x7f) * mul;
    if (b < 0x80) return value;
    mul *= 128;
  }
  throw new WireFormatError('varint longer than 10 bytes');
}

/** Reads an int64 varint at `pos` (two's complement); exact within ±2^53. */
function varintInt64(buf: Uint8Array, end: number): number {
  const start = pos;
  const v = varint(buf, end);
  if (pos - start < 10) return v;
  // A 10-byte varint is a negative int64: decode it exactly.
  let big = 0n;
  for (let i = 9; i >= 0; i--) big = (big << 7n) | BigInt(buf[start + i]! & 0x7f);
  return Number(BigInt.asIntN(64, big));
}

function skip(buf: Uint8Array, end: number, wireType: number): void {
  switch (wireType) {
    case 0:
      varint(buf, end);
      return;
    case 1:
      pos += 8;
      return;
    case 2:
      pos += varint(buf, end);
      return;
    case 5:
      pos += 4;
      return;
    default:
      throw new WireFormatError(`unsupported wire type ${wireType}`);
  }
}

/** Scans an encoded GetFlowsResponse for its kind and time; throws WireFormatError on malformed bytes. */
export function scanGetFlowsResponse(buf: Uint8Array): WireResponse {
  let sec = 0;
  let nsec = 0;
  let hasTime = false;
  let kind: ResponseKind;
  const end = buf.length;
  pos = 0;
  while (pos < end) {
    const tag = varint(buf, end);
    const wt = tag & 7;
    if (wt === 2) {
      const len = varint(buf, end);
      const next = pos + len;
      if (next > end) throw new WireFormatError('field runs past the end');
      if (tag === 0x0a) kind = 'flow';
      else if (tag === 0x12) kind = 'node_status';
      else if (tag === 0x1a) kind = 'lost_events';
      else if (tag === 8010) {
        // time (1001): google.protobuf.Timestamp { int64 seconds = 1; int32 nanos = 2; }
        hasTime = true;
        sec = 0;
        nsec = 0;
        while (pos < next) {
          const t = varint(buf, next);
          if (t === 0x08) sec = varintInt64(buf, next);
          else if (t === 0x10) nsec = varint(buf, next) | 0;
          else skip(buf, next, t & 7);
        }
        if (pos !== next) throw new WireFormatError('time runs past its length');
      }
      pos = next;
    } else {
      skip(buf, end, wt);
    }
  }
  if (pos !== end) throw new WireFormatError('field runs past the end');
  return { wire: buf, sec, nsec, hasTime, kind };
}

/** encodeOwnResponse encodes a response the relay makes itself (node_status) into a WireResponse. */
export function encodeOwnResponse(resp: observer.GetFlowsResponse): WireResponse {
  const wire = observer.GetFlowsResponse.encode(resp).finish();
  const kind: ResponseKind = resp.flow ? 'flow' : resp.nodeStatus ? 'node_status' : resp.lostEvents ? 'lost_events' : undefined;
  const t = resp.time;
  return { wire, sec: t ? Number(t.seconds) : 0, nsec: t ? t.nanos : 0, hasTime: t !== undefined, kind };
}

const getFlowsDef = observer.ObserverService.getFlows;

/** observer.Observer whose GetFlows writes WireResponse bytes as they are. */
export const RELAY_OBSERVER_SERVICE = {
  ...observer.ObserverService,
  getFlows: {
    ...getFlowsDef,
    responseSerialize: (value: WireResponse | observer.GetFlowsResponse): Buffer =>
      'wire' in value ? Buffer.from(value.wire.buffer, value.wire.byteOffset, value.wire.byteLength) : getFlowsDef.responseSerialize(value),
  },
} as const;
