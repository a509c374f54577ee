import type { Timestamp } from '@cilium-ts/api';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MIN_SECONDS = -62135596800n; // 0001-01-01T00:00:00Z
const MAX_SECONDS = 253402300799n; // 9999-12-31T23:59:59Z

/** validTimestamp reports whether a Timestamp is one the Go CLI accepts (years 1..9999, nanos in range). */
export function validTimestamp(ts: Timestamp | undefined): ts is Timestamp {
  return ts !== undefined && ts.seconds >= MIN_SECONDS && ts.seconds <= MAX_SECONDS && ts.nanos >= 0 && ts.nanos < 1e9;
}

function utcParts(ts: Timestamp): Date {
  return new Date(Number(ts.seconds) * 1000);
}

/** formatStampMilli renders a Timestamp in UTC as Go's StampMilli (`Jan _2 15:04:05.000`), or `N/A`. */
export function formatStampMilli(ts: Timestamp | undefined): string {
  if (!validTimestamp(ts)) return 'N/A';
  const d = utcParts(ts);
  const p2 = (n: number): string => String(n).padStart(2, '0');
  const day = String(d.getUTCDate()).padStart(2, ' ');
  const ms = String(Math.floor(ts.nanos / 1e6)).padStart(3, '0');
  return `${MONTHS[d.getUTCMonth()]} ${day} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}.${ms}`;
}

/** formatGoDuration renders nanoseconds like Go's time.Duration.String() (e.g. `1m40s`, `2h0m0s`, `1.5s`). */
export function formatGoDuration(ns: bigint): string {
  if (ns === 0n) return '0s';
  const neg = ns < 0n;
  let u = neg ? -ns : ns;
  let out: string;
  if (u < 1_000_000_000n) {
    const units: [bigint, string][] = [[1_000_000n, 'ms'], [1000n, 'µs'], [1n, 'ns']];
    const [div, unit] = units.find(([d]) => u >= d) as [bigint, string];
    out = `${fraction(u, div)}${unit}`;
  } else {
    const h = u / 3_600_000_000_000n;
    u -= h * 3_600_000_000_000n;
    const m = u / 60_000_000_000n;
    u -= m * 60_000_000_000n;
    const s = fraction(u, 1_000_000_000n);
    out = h > 0n ? `${h}h${m}m${s}s` : m > 0n ? `${m}m${s}s` : `${s}s`;
  }
  return neg ? `-${out}` : out;
}

function fraction(v: bigint, div: bigint): string {
  const whole = v / div;
  const rest = v % div;
  if (rest === 0n) return String(whole);
  const digits = String(div).length - 1;
  return `${whole}.${String(rest).padStart(digits, '0').replace(/0+$/, '')}`;
}
