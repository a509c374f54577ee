// Decoding of the agent's Monitor.Listen messages on hubble-server's hot path. A
// MonitorEvent carrying a DatapathBatch is read by hand: the records stay subarrays of the
// received bytes and each fixed64 stamp becomes two numbers (seconds, nanos) without the
// BigInts and Timestamp objects the generated decoder makes per record. Every other message
// (agent events, lost counts, single records, anything with fields this reader does not know)
// goes through the generated decoder.
import { agent } from '@cilium-ts/api';

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

class Reader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      if (this.pos >= this.end) throw NOT_SIMPLE;
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    // Values of 2^56 and more are not what this reader expects (lengths, small numbers).
    throw NOT_SIMPLE;
  }

  /** The end offset of a length-delimited field whose length comes next. */
  delimited(): number {
    const len = this.varint();
    const end = this.pos + len;
    if (end > this.end) throw NOT_SIMPLE;
    return end;
  }
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

function readTimestamp(r: Reader, end: number, out: MonitorBatch): void {
  let seconds = 0;
  let nanos = 0;
  while (r.pos < end) {
    const tag = r.varint();
    if (tag === 8) seconds = r.varint();
    else if (tag === 16) nanos = r.varint();
    else throw NOT_SIMPLE;
  }
  out.seconds = seconds;
  out.nanos = nanos;
}

function fixed64(r: Reader, out: MonitorBatch): void {
  if (r.pos + 8 > r.end) throw NOT_SIMPLE;
  const b = r.buf;
  const p = r.pos;
  const lo = (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16)) + b[p + 3]! * 0x1000000;
  const hi = (b[p + 4]! | (b[p + 5]! << 8) | (b[p + 6]! << 16)) + b[p + 7]! * 0x1000000;
  r.pos = p + 8;
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

function readBatch(r: Reader, end: number, out: MonitorBatch): void {
  while (r.pos < end) {
    const tag = r.varint();
    if (tag === 10) {
      const e = r.delimited();
      out.records.push(r.buf.subarray(r.pos, e));
      r.pos = e;
    } else if (tag === 18) {
      const e = r.delimited();
      if ((e - r.pos) % 8 !== 0) throw NOT_SIMPLE;
      const inner = new Reader(r.buf, r.pos, e);
      while (inner.pos < e) fixed64(inner, out);
      r.pos = e;
    } else if (tag === 17) {
      fixed64(r, out);
    } else {
      throw NOT_SIMPLE;
    }
  }
}

const textDecoder = new TextDecoder();

/** Decodes one Monitor.Listen message (throws like the generated decoder on malformed input). */
export function decodeMonitorMessage(bytes: Uint8Array): MonitorMessage {
  const out: MonitorBatch = { kind: 'batch', nodeName: '', seconds: -1, nanos: 0, records: [], stamps: new Float64Array(0), stampCount: 0 };
  let sawBatch = false;
  try {
    const r = new Reader(bytes, 0, bytes.length);
    while (r.pos < bytes.length) {
      const tag = r.varint();
      if (tag === 10) {
        const e = r.delimited();
        readTimestamp(r, e, out);
        r.pos = e;
      } else if (tag === 18) {
        const e = r.delimited();
        out.nodeName = textDecoder.decode(bytes.subarray(r.pos, e));
        r.pos = e;
      } else if (tag === 50 && !sawBatch) {
        sawBatch = true;
        const e = r.delimited();
        readBatch(r, e, out);
        r.pos = e;
      } else {
        throw NOT_SIMPLE;
      }
    }
  } catch (err) {
    if (err !== NOT_SIMPLE) throw err;
    sawBatch = false;
  }
  if (sawBatch) return out;
  return { kind: 'event', event: agent.MonitorEvent.decode(bytes) };
}
