// GetFlowsResponse bytes relayed as they came: the relay reads only what it needs (the oneof
// member present and `time`, field 1001) by scanning the top-level fields, and writes the same
// bytes to its caller, instead of decoding and re-encoding every flow. The sort key is kept as
// two plain numbers (seconds, nanos) so the merge compares without BigInt.
import { observer } from '@cilium-ts/api';
import { ProtoWireError, protoTag, WireReader, WireType } from '@cilium-ts/grpc/wire';

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

/** One reader for every scan (reset per message): nothing is allocated per flow. */
const reader = new WireReader();

/** Field tags of GetFlowsResponse read by the scanner (observer.proto). */
const TAG_FLOW = protoTag(1, WireType.DELIMITED);
const TAG_NODE_STATUS = protoTag(2, WireType.DELIMITED);
const TAG_LOST_EVENTS = protoTag(3, WireType.DELIMITED);
const TAG_TIME = protoTag(1001, WireType.DELIMITED);
/** google.protobuf.Timestamp { int64 seconds = 1; int32 nanos = 2; } */
const TAG_SECONDS = protoTag(1, WireType.VARINT);
const TAG_NANOS = protoTag(2, WireType.VARINT);

/** Scans an encoded GetFlowsResponse for its kind and time; throws WireFormatError on malformed bytes. */
export function scanGetFlowsResponse(buf: Uint8Array): WireResponse {
  try {
    return scan(buf);
  } catch (err) {
    if (err instanceof ProtoWireError) throw new WireFormatError(err.reason);
    throw err;
  }
}

function scan(buf: Uint8Array): WireResponse {
  let sec = 0;
  let nsec = 0;
  let hasTime = false;
  let kind: ResponseKind;
  const r = reader.reset(buf);
  while (!r.done) {
    const tag = r.varint();
    const wt = tag & 7;
    if (wt !== WireType.DELIMITED) {
      r.skip(wt);
      continue;
    }
    const next = r.delimited();
    if (tag === TAG_FLOW) kind = 'flow';
    else if (tag === TAG_NODE_STATUS) kind = 'node_status';
    else if (tag === TAG_LOST_EVENTS) kind = 'lost_events';
    else if (tag === TAG_TIME) {
      hasTime = true;
      sec = 0;
      nsec = 0;
      const outer = r.end;
      r.end = next;
      while (!r.done) {
        const t = r.varint();
        if (t === TAG_SECONDS) sec = r.int64();
        else if (t === TAG_NANOS) nsec = r.varint() | 0;
        else r.skip(t & 7);
      }
      r.end = outer;
      if (r.pos !== next) throw new WireFormatError('time runs past its length');
    }
    r.pos = next;
  }
  if (r.pos !== buf.length) throw new WireFormatError('field runs past the end');
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
