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

/** TIME_FORMATS are the --time-format layouts (Go layout names, as upstream hubble). */
export const TIME_FORMATS = ['StampMilli', 'RFC3339', 'RFC3339Milli', 'RFC3339Micro', 'RFC3339Nano', 'RFC1123Z'] as const;
/** TimeFormat is one --time-format value. */
export type TimeFormat = (typeof TIME_FORMATS)[number];

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** isTimeFormat reports whether `s` names a supported layout. */
export function isTimeFormat(s: string): s is TimeFormat {
  return (TIME_FORMATS as readonly string[]).includes(s);
}

/**
 * formatTimestamp renders a Timestamp in UTC with a Go layout: StampMilli `Jan _2 15:04:05.000`,
 * RFC3339 `2006-01-02T15:04:05Z`, RFC3339Milli/Micro with 3/6 fixed digits, RFC3339Nano with
 * trailing zeros trimmed, RFC1123Z `Mon, 02 Jan 2006 15:04:05 +0000`; `N/A` when invalid.
 */
export function formatTimestamp(layout: TimeFormat, ts: Timestamp | undefined): string {
  if (layout === 'StampMilli') return formatStampMilli(ts);
  if (!validTimestamp(ts)) return 'N/A';
  const d = utcParts(ts);
  const p2 = (n: number): string => String(n).padStart(2, '0');
  const year = String(d.getUTCFullYear()).padStart(4, '0');
  const clock = `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`;
  const nanos = String(ts.nanos).padStart(9, '0');
  if (layout === 'RFC1123Z') return `${DAYS[d.getUTCDay()]}, ${p2(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${year} ${clock} +0000`;
  const date = `${year}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())}T${clock}`;
  switch (layout) {
    case 'RFC3339':
      return `${date}Z`;
    case 'RFC3339Milli':
      return `${date}.${nanos.slice(0, 3)}Z`;
    case 'RFC3339Micro':
      return `${date}.${nanos.slice(0, 6)}Z`;
    case 'RFC3339Nano': {
      const frac = nanos.replace(/0+$/, '');
      return frac === '' ? `${date}Z` : `${date}.${frac}Z`;
    }
  }
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
