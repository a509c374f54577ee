// Helpers between google.protobuf.Timestamp (seconds: bigint, nanos: number, as
// generated with forceLong=bigint and useDate=false) and nanoseconds since the epoch.
import { Timestamp } from './generated/google/protobuf/timestamp.js';

export { Timestamp };

const NANOS_PER_SECOND = 1_000_000_000n;

/** Converts nanoseconds since the Unix epoch to a Timestamp (nanos always in [0, 1e9)). */
export function timestampFromNanos(nanos: bigint): Timestamp {
  let seconds = nanos / NANOS_PER_SECOND;
  let rest = nanos % NANOS_PER_SECOND;
  if (rest < 0n) {
    rest += NANOS_PER_SECOND;
    seconds -= 1n;
  }
  return Timestamp.create({ seconds, nanos: Number(rest) });
}

/** Converts a Timestamp to nanoseconds since the Unix epoch. */
export function nanosFromTimestamp(ts: Timestamp): bigint {
  return ts.seconds * NANOS_PER_SECOND + BigInt(ts.nanos);
}

/** Converts milliseconds since the Unix epoch (e.g. Date.now()) to a Timestamp. */
export function timestampFromMillis(millis: number): Timestamp {
  return timestampFromNanos(BigInt(Math.trunc(millis)) * 1_000_000n);
}

/** Converts a Date to a Timestamp (millisecond precision, as Dates have). */
export function timestampFromDate(date: Date): Timestamp {
  return timestampFromMillis(date.getTime());
}

/** Converts a Timestamp to a Date, dropping precision below one millisecond. */
export function dateFromTimestamp(ts: Timestamp): Date {
  return new Date(Number(nanosFromTimestamp(ts) / 1_000_000n));
}

/** The current wall-clock time as a Timestamp, with sub-millisecond precision. */
export function timestampNow(): Timestamp {
  const ms = performance.timeOrigin + performance.now();
  const whole = Math.floor(ms);
  const nanos = BigInt(whole) * 1_000_000n + BigInt(Math.floor((ms - whole) * 1_000_000));
  return timestampFromNanos(nanos);
}

/** Orders two Timestamps: negative if a is earlier, 0 if equal, positive if later. */
export function compareTimestamps(a: Timestamp, b: Timestamp): number {
  if (a.seconds !== b.seconds) return a.seconds < b.seconds ? -1 : 1;
  return a.nanos - b.nanos;
}
