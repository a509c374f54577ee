// Decoding of the agent's Monitor.Listen messages on hubble-server's hot path. A
// MonitorEvent carrying a DatapathBatch is read by hand: the records stay subarrays of the
// received bytes and each fixed64 stamp becomes two numbers (seconds, nanos) without the
// BigInts and Timestamp objects the generated decoder makes per record. Every other message
// (agent events, lost counts, single records, anything with fields this reader does not know)
// goes through the generated decoder.
import { agent } from '@cilium-ts/api';
import { ProtoWireError, protoTag, WireReader, WireType } from '@cilium-ts/grpc/wire';

/** A DatapathBatch as read off the wire. */
export interface MonitorBatch {
  readonly kind: 'batch';
  /** MonitorEvent.node_name ('' = the agent's own node). */
  nodeName: string;
  /** MonitorEvent.time as seconds / nanos (-1 seconds: not set); used for records without a stamp. */
  seconds: number;
  nanos: number;
  records: Uint8Array[];
  /** Per record: seconds at 2i, nanos at 2i+1 (as many pairs as stamps were sent). */
  stamps: Float64Array;
  stampCount: number;
}

/** What decodeMonitorMessage returns: a hand-read batch or a generated MonitorEvent. */
export type MonitorMessage = MonitorBatch | { readonly kind: 'event'; event: agent.MonitorEvent };

/** Thrown inside the reader when the bytes are not the simple shape it handles. */
const NOT_SIMPLE = Symbol('not-simple');

/** Field tags read by hand (agent.proto: MonitorEvent, DatapathBatch; google.protobuf.Timestamp). */
const TAG = {
  eventTime: protoTag(1, WireType.DELIMITED),
  eventNodeName: protoTag(2, WireType.DELIMITED),
  eventBatch: protoTag(6, WireType.DELIMITED),
  batchRecord: protoTag(1, WireType.DELIMITED),
  batchTimePacked: protoTag(2, WireType.DELIMITED),
  batchTime: protoTag(2, WireType.FIXED64),
  seconds: protoTag(1, WireType.VARINT),
  nanos: protoTag(2, WireType.VARINT),
} as const;

/** A varint this reader expects (lengths, small numbers): larger values go to the generated decoder. */
function smallVarint(r: WireReader): number {
  const v = r.varint();
  if (v > Number.MAX_SAFE_INTEGER) throw NOT_SIMPLE;
  return v;
}

/**
 * Splits nanoseconds since the epoch, given as the low and high 32 bits of a uint64, into whole
 * seconds and nanoseconds, exactly (every intermediate stays below 2^53).
 */
export function splitNanos(lo: number, hi: number): { seconds: number; nanos: number } {
  // hi * 2^32 = hi * 4e9 + hi * 294e6 + hi * 967296 (nanoseconds).
  const a = hi * 294;
  const rest = (a % 1000) * 1e6 + hi * 967296 + lo;
  return { seconds: hi * 4 + Math.floor(a / 1000) + Math.floor(rest / 1e9), nanos: rest % 1e9 };
}

function readTimestamp(r: WireReader, out: MonitorBatch): void {
  let seconds = 0;
  let nanos = 0;
  while (!r.done) {
    const tag = r.varint();
    if (tag === TAG.seconds) seconds = smallVarint(r);
    else if (tag === TAG.nanos) nanos = smallVarint(r);
    else throw NOT_SIMPLE;
  }
  out.seconds = seconds;
  out.nanos = nanos;
}

function fixed64(r: WireReader, out: MonitorBatch): void {
  const lo = r.fixed32();
  const hi = r.fixed32();
  const { seconds, nanos } = splitNanos(lo, hi);
  if (out.stamps.length < 2 * (out.stampCount + 1)) {
    const grown = new Float64Array(Math.max(64, out.stamps.length * 2));
    grown.set(out.stamps);
    out.stamps = grown;
  }
  out.stamps[2 * out.stampCount] = seconds;
  out.stamps[2 * out.stampCount + 1] = nanos;
  out.stampCount++;
}

/** Runs `read` over the length-delimited field whose length comes next, then moves past it. */
function within(r: WireReader, read: () => void): number {
  const end = r.delimited();
  const outer = r.end;
  r.end = end;
  read();
  r.end = outer;
  r.pos = end;
  return end;
}

function readBatch(r: WireReader, out: MonitorBatch): void {
  while (!r.done) {
    const tag = r.varint();
    if (tag === TAG.batchRecord) {
      const e = r.delimited();
      out.records.push(r.buf.subarray(r.pos, e));
      r.pos = e;
    } else if (tag === TAG.batchTimePacked) {
      within(r, () => {
        if ((r.end - r.pos) % 8 !== 0) throw NOT_SIMPLE;
        while (!r.done) fixed64(r, out);
      });
    } else if (tag === TAG.batchTime) {
      fixed64(r, out);
    } else {
      throw NOT_SIMPLE;
    }
  }
}

const textDecoder = new TextDecoder();

/** One reader for every message (reset per message). */
const reader = new WireReader();

/** Decodes one Monitor.Listen message (throws like the generated decoder on malformed input). */
export function decodeMonitorMessage(bytes: Uint8Array): MonitorMessage {
  const out: MonitorBatch = { kind: 'batch', nodeName: '', seconds: -1, nanos: 0, records: [], stamps: new Float64Array(0), stampCount: 0 };
  let sawBatch = false;
  try {
    const r = reader.reset(bytes);
    while (!r.done) {
      const tag = r.varint();
      if (tag === TAG.eventTime) {
        within(r, () => readTimestamp(r, out));
      } else if (tag === TAG.eventNodeName) {
        const e = r.delimited();
        out.nodeName = textDecoder.decode(bytes.subarray(r.pos, e));
        r.pos = e;
      } else if (tag === TAG.eventBatch && !sawBatch) {
        sawBatch = true;
        within(r, () => readBatch(r, out));
      } else {
        throw NOT_SIMPLE;
      }
    }
  } catch (err) {
    // Anything unexpected, malformed bytes included, goes to the generated decoder (which
    // throws its own error for malformed bytes).
    if (err !== NOT_SIMPLE && !(err instanceof ProtoWireError)) throw err;
    sawBatch = false;
  }
  if (sawBatch) return out;
  return { kind: 'event', event: agent.MonitorEvent.decode(bytes) };
}
