/** Time is the part of google.protobuf.Timestamp the relay orders on. */
export interface Time {
  seconds: bigint;
  nanos: number;
}

/** timeOf returns a response's `time`, or the zero time when it is absent. */
export function timeOf(resp: { readonly time?: Time | undefined }): Time {
  return resp.time ?? { seconds: 0n, nanos: 0 };
}

/** timeBefore reports whether a is strictly earlier than b (seconds, then nanos). */
export function timeBefore(a: Time, b: Time): boolean {
  return a.seconds < b.seconds || (a.seconds === b.seconds && a.nanos < b.nanos);
}

/** timeFromMs converts milliseconds since the epoch to a Timestamp. */
export function timeFromMs(ms: number): Time {
  const seconds = Math.floor(ms / 1000);
  return { seconds: BigInt(seconds), nanos: Math.round((ms - seconds * 1000) * 1e6) };
}
