import type { Timestamp } from '@cilium-ts/api';
import { parseGoDuration } from '@cilium-ts/process';

/** TimeParseError says a --since/--until value is neither a Go duration nor a supported date format. */
export class TimeParseError extends Error {
  override readonly name = 'TimeParseError';
  constructor(readonly input: string) {
    super(`cannot parse time "${input}": use a duration such as 5m or 1h30m (meaning that long ago), or RFC3339 such as 2021-12-01T10:00:00Z`);
  }
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function fromParts(y: number, mo: number, d: number, h: number, mi: number, sec: number, nanos: number, offsetMin: number): Timestamp {
  const ms = Date.UTC(y, mo, d, h, mi, sec) - offsetMin * 60_000;
  return { seconds: BigInt(Math.floor(ms / 1000)), nanos };
}

/**
 * parseTimeArg turns a --since/--until value into a Timestamp the way hubble does: a Go duration
 * means now minus that duration; otherwise one of upstream's layouts: RFC3339 (any fraction up
 * to nanoseconds), RFC1123Z, `2006-01-02`, `2006-01-02T15Z07:00` or `2006-01-02T15:04Z07:00`.
 */
export function parseTimeArg(input: string, nowNanos: bigint = BigInt(Date.now()) * 1_000_000n): Timestamp {
  const d = parseGoDuration(input);
  if (d !== undefined) {
    const t = nowNanos - d;
    const s = t / 1_000_000_000n;
    return { seconds: s, nanos: Number(t - s * 1_000_000_000n) };
  }
  const rfc3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/.exec(input);
  if (rfc3339) {
    const [, y, mo, da, h, mi, se, frac, z, sign, oh, om] = rfc3339;
    const nanos = frac ? Number(frac.padEnd(9, '0')) : 0;
    const offset = z ? 0 : (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om));
    return fromParts(+y, +mo - 1, +da, +h, +mi, +se, nanos, offset);
  }
  // YearMonthDay `2006-01-02`, YearMonthDayHour `2006-01-02T15Z07:00`, YearMonthDayHourMinute `2006-01-02T15:04Z07:00`.
  const ymd = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt](\d{2})(?::(\d{2}))?(?:([Zz])|([+-])(\d{2}):(\d{2})))?$/.exec(input);
  if (ymd) {
    const [, y, mo, da, h, mi, z, sign, oh, om] = ymd;
    const offset = z || h === undefined ? 0 : (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om));
    return fromParts(+y, +mo - 1, +da, Number(h ?? 0), Number(mi ?? 0), 0, 0, offset);
  }
  const rfc1123z = /^[A-Z][a-z]{2}, (\d{2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/.exec(input);
  if (rfc1123z && MONTHS.includes(rfc1123z[2])) {
    const [, da, mon, y, h, mi, se, sign, oh, om] = rfc1123z;
    const offset = (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om));
    return fromParts(+y, MONTHS.indexOf(mon), +da, +h, +mi, +se, 0, offset);
  }
  throw new TimeParseError(input);
}
