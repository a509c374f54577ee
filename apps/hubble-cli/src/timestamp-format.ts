import type { Timestamp } from '@cilium-ts/api';
import { UsageError } from './args.js';

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

/** TIME_FORMATS are the --time-format names (upstream hubble v0.12.3's FormatNames). */
export const TIME_FORMATS = [
  'YearMonthDay', 'YearMonthDayHour', 'YearMonthDayHourMinute', 'StampMilli', 'RFC3339', 'RFC3339Milli', 'RFC3339Micro', 'RFC3339Nano', 'RFC1123Z',
] as const;
/** TimeFormat is one --time-format value. */
export type TimeFormat = (typeof TIME_FORMATS)[number];

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/**
 * timeFormatName returns the TIME_FORMATS name that `s` names, compared without case as
 * upstream does, or undefined (upstream falls back to StampMilli; we refuse the flag instead).
 */
export function timeFormatName(s: string): TimeFormat | undefined {
  return TIME_FORMATS.find((f) => f.toLowerCase() === s.toLowerCase());
}

/** timeFormatFlag reads a --time-format value (any case); throws UsageError naming the valid ones. */
export function timeFormatFlag(value: string): TimeFormat {
  const name = timeFormatName(value);
  if (name === undefined) throw new UsageError(`invalid --time-format "${value}": use ${TIME_FORMATS.join(', ')}`);
  return name;
}

/** isTimeFormat reports whether `s` is exactly a supported name. */
export function isTimeFormat(s: string): s is TimeFormat {
  return (TIME_FORMATS as readonly string[]).includes(s);
}

/** Go's `.999...` fraction: up to `digits` digits with trailing zeros (and the dot) dropped. */
function trimmedFraction(nanos: number, digits: number): string {
  const frac = String(nanos).padStart(9, '0').slice(0, digits).replace(/0+$/, '');
  return frac === '' ? '' : `.${frac}`;
}

/**
 * formatTimestamp renders a Timestamp in UTC with the Go layout upstream hubble uses for
 * the name: StampMilli `Jan _2 15:04:05.000`, RFC3339 `2006-01-02T15:04:05Z07:00`,
 * RFC3339Milli/Micro/Nano with `.999`, `.999999`, `.999999999` (trailing zeros trimmed),
 * RFC1123Z `Mon, 02 Jan 2006 15:04:05 -0700`, YearMonthDay `2006-01-02`, YearMonthDayHour
 * `2006-01-02T15Z07:00`, YearMonthDayHourMinute `2006-01-02T15:04Z07:00`; `N/A` when invalid.
 */
export function formatTimestamp(layout: TimeFormat, ts: Timestamp | undefined): string {
  if (layout === 'StampMilli') return formatStampMilli(ts);
  if (!validTimestamp(ts)) return 'N/A';
  const d = utcParts(ts);
  const p2 = (n: number): string => String(n).padStart(2, '0');
  const year = String(d.getUTCFullYear()).padStart(4, '0');
  const clock = `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`;
  if (layout === 'RFC1123Z') return `${DAYS[d.getUTCDay()]}, ${p2(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${year} ${clock} +0000`;
  const day = `${year}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())}`;
  switch (layout) {
    case 'YearMonthDay': return day;
    case 'YearMonthDayHour': return `${day}T${p2(d.getUTCHours())}Z`;
    case 'YearMonthDayHourMinute': return `${day}T${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}Z`;
    case 'RFC3339': return `${day}T${clock}Z`;
    case 'RFC3339Milli': return `${day}T${clock}${trimmedFraction(ts.nanos, 3)}Z`;
    case 'RFC3339Micro': return `${day}T${clock}${trimmedFraction(ts.nanos, 6)}Z`;
    case 'RFC3339Nano': return `${day}T${clock}${trimmedFraction(ts.nanos, 9)}Z`;
  }
}
