// Go-style durations ("500ms", "15s", "1m30s", "-1.5h"), as Go's time.ParseDuration reads
// them and time.Duration.String() writes them: the durations of every command-line flag
// (lease TTLs, GC and heartbeat intervals, relay timeouts, hubble --since/--timeout) and the
// uptimes the CLIs print.

/** A duration flag that does not parse. */
export class DurationError extends Error {
  override readonly name = 'DurationError';
  constructor(
    readonly flag: string,
    readonly value: string,
  ) {
    super(`--${flag}: "${value}" is not a duration; write it like 500ms, 15s, 1m30s or 2h`);
  }
}

const UNIT_NANOS: Record<string, bigint> = {
  ns: 1n, us: 1000n, 'µs': 1000n, 'μs': 1000n, ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n,
};

/** parseGoDuration parses a Go duration (`300ms`, `-1.5h`, `2h45m`) into nanoseconds, or returns undefined. */
export function parseGoDuration(input: string): bigint | undefined {
  let s = input;
  let sign = 1n;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1n;
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') return undefined;
  let total = 0n;
  const re = /^(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/;
  while (s.length > 0) {
    const m = re.exec(s);
    if (!m || (m[1] === '' && (m[2] ?? '') === '')) return undefined;
    const unit = UNIT_NANOS[m[3]];
    const whole = m[1] === '' ? 0n : BigInt(m[1]);
    let frac = 0n;
    if (m[2]) {
      const digits = m[2].slice(0, 18);
      frac = (BigInt(digits) * unit) / 10n ** BigInt(digits.length);
    }
    total += whole * unit + frac;
    s = s.slice(m[0].length);
  }
  return sign * total;
}

/**
 * Parses a non-negative Go-style duration flag value into milliseconds (rounded to whole
 * milliseconds); throws DurationError naming `flag`.
 */
export function parseDuration(value: string, flag: string): number {
  const ns = parseGoDuration(value.trim());
  if (ns === undefined || ns < 0n) throw new DurationError(flag, value);
  return Math.round(Number(ns) / 1e6);
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
