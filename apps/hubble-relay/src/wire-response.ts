// GetFlowsResponse bytes relayed as they came: the relay reads only what it needs (the oneof
// member present and `time`, field 1001) by scanning the top-level fields, and writes the same
// bytes to its caller, instead of decoding and re-encoding every flow.
import type { ClientReadableStream, Metadata } from '@grpc/grpc-js';
import { observer } from '@cilium-ts/api';
import type { Time } from './timestamps.js';

/** A peer's GetFlowsResponse kept as its encoded bytes. */
export interface WireResponse {
  /** The encoded GetFlowsResponse, forwarded unchanged. */
  readonly wire: Uint8Array;
  /** `time` (1001), the sort key; undefined when absent. */
  readonly time: Time | undefined;
  /** Which `response_types` member is set (flow 1, node_status 2, lost_events 3); undefined for none. */
  readonly kind: 'flow' | 'node_status' | 'lost_events' | undefined;
}

/** A response the relay sends: one it made itself, or a peer's bytes. */
export type RelayedResponse = observer.GetFlowsResponse | WireResponse;

/** Raised for bytes that are not a well-formed protobuf message. */
export class WireFormatError extends Error {
  override readonly name = 'WireFormatError';
  constructor(reason: string) {
    super(`relay: cannot read a GetFlowsResponse from a peer: ${reason}; the peer does not speak observer.Observer`);
  }
}

/** Reads a varint at `pos`; returns [value, next position]. Values above 2^53 lose precision (not used for keys). */
function varint(buf: Uint8Array, pos: number): [number, number] {
  let value = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw new WireFormatError('truncated varint');
    const b = buf[pos++]!;
    value += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) return [value, pos];
    mul *= 128;
  }
  throw new WireFormatError('varint longer than 10 bytes');
}

/** Reads a varint as an int64 (two's complement) bigint; returns [value, next position]. */
function varintInt64(buf: Uint8Array, pos: number): [bigint, number] {
  let value = 0n;
  let shift = 0n;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw new WireFormatError('truncated varint');
    const b = buf[pos++]!;
    value |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [BigInt.asIntN(64, value), pos];
    shift += 7n;
  }
  throw new WireFormatError('varint longer than 10 bytes');
}

function skip(buf: Uint8Array, pos: number, wireType: number): number {
  switch (wireType) {
    case 0:
      return varint(buf, pos)[1];
    case 1:
      return pos + 8;
    case 2: {
      const [len, p] = varint(buf, pos);
      return p + len;
    }
    case 5:
      return pos + 4;
    default:
      throw new WireFormatError(`unsupported wire type ${wireType}`);
  }
}

function timestamp(buf: Uint8Array, start: number, end: number): Time {
  let seconds = 0n;
  let nanos = 0;
  let pos = start;
  while (pos < end) {
    const [tag, p] = varint(buf, pos);
    pos = p;
    const field = Math.floor(tag / 8);
    const wt = tag & 7;
    if (field === 1 && wt === 0) {
      const [v, q] = varintInt64(buf, pos);
      seconds = v;
      pos = q;
    } else if (field === 2 && wt === 0) {
      const [v, q] = varint(buf, pos);
      nanos = v | 0;
      pos = q;
    } else {
      pos = skip(buf, pos, wt);
    }
  }
  return { seconds, nanos };
}

/** Scans an encoded GetFlowsResponse for its kind and time; throws WireFormatError on malformed bytes. */
export function scanGetFlowsResponse(buf: Uint8Array): WireResponse {
  let time: Time | undefined;
  let kind: WireResponse['kind'];
  let pos = 0;
  while (pos < buf.length) {
    const [tag, p] = varint(buf, pos);
    pos = p;
    const field = Math.floor(tag / 8);
    const wt = tag & 7;
    if (wt === 2 && (field === 1 || field === 2 || field === 3 || field === 1001)) {
      const [len, q] = varint(buf, pos);
      if (q + len > buf.length) throw new WireFormatError('field runs past the end');
      if (field === 1001) time = timestamp(buf, q, q + len);
      else kind = field === 1 ? 'flow' : field === 2 ? 'node_status' : 'lost_events';
      pos = q + len;
    } else {
      pos = skip(buf, pos, wt);
    }
  }
  if (pos !== buf.length) throw new WireFormatError('field runs past the end');
  return { wire: buf, time, kind };
}

/** True for a peer's relayed bytes, false for a response the relay built. */
export function isWire(r: RelayedResponse): r is WireResponse {
  return (r as WireResponse).wire !== undefined;
}

const getFlowsDef = observer.ObserverService.getFlows;

/** observer.Observer whose GetFlows accepts relayed bytes as well as GetFlowsResponse objects. */
export const RELAY_OBSERVER_SERVICE = {
  ...observer.ObserverService,
  getFlows: {
    ...getFlowsDef,
    responseSerialize: (value: RelayedResponse): Buffer =>
      isWire(value) ? Buffer.from(value.wire.buffer, value.wire.byteOffset, value.wire.byteLength) : getFlowsDef.responseSerialize(value),
  },
} as const;

/** Calls a peer's GetFlows, yielding each response as its bytes plus kind and time. */
export function getFlowsWire(client: observer.ObserverClient, req: observer.GetFlowsRequest, md: Metadata): ClientReadableStream<WireResponse> {
  return client.makeServerStreamRequest(getFlowsDef.path, getFlowsDef.requestSerialize, scanGetFlowsResponse, req, md, {});
}
