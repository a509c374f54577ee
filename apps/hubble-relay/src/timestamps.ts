/** Time is the part of google.protobuf.Timestamp the relay stamps its own responses with. */
export interface Time {
  seconds: bigint;
  nanos: number;
}

/** timeFromMs converts milliseconds since the epoch to a Timestamp. */
export function timeFromMs(ms: number): Time {
  const seconds = Math.floor(ms / 1000);
  return { seconds: BigInt(seconds), nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

/** Keyed is what the merge orders on: a time as seconds and nanoseconds, plain numbers. */
export interface Keyed {
  readonly sec: number;
  readonly nsec: number;
}

/** earlier reports whether a is strictly earlier than b (seconds, then nanos). */
export function earlier(a: Keyed, b: Keyed): boolean {
  return a.sec < b.sec || (a.sec === b.sec && a.nsec < b.nsec);
}

/** keyFromMs converts milliseconds since the epoch to a sort key. */
export function keyFromMs(ms: number): Keyed {
  const sec = Math.floor(ms / 1000);
  return { sec, nsec: Math.round((ms - sec * 1000) * 1e6) };
}
