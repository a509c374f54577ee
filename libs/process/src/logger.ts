// Structured JSON logs: one object per line on stderr with time (RFC3339, nanoseconds),
// level, component, msg, then the caller's fields.

/** Log levels, least to most severe. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Extra key/value pairs of one log record. */
export type LogFields = Record<string, unknown>;

/** A structured logger bound to a component and, optionally, fixed fields. */
export interface Logger {
  readonly component: string;
  readonly level: LogLevel;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every record. */
  child(fields: LogFields): Logger;
  /** Whether records of `level` are written. */
  enabled(level: LogLevel): boolean;
}

/** Options of createLogger. */
export interface LoggerOptions {
  /** Minimum level written; default $CILIUM_LOG_LEVEL or "info". */
  level?: LogLevel;
  /** Where lines go; default process.stderr. */
  stream?: { write(line: string): unknown };
  /** Fields added to every record. */
  fields?: LogFields;
}

/** Returns true when `s` names a log level. */
export function isLogLevel(s: string): s is LogLevel {
  return Object.hasOwn(LEVELS, s);
}

// Nanoseconds since the epoch, sub-millisecond from the monotonic clock (as @cilium-ts/api's timestampNow).
function nowNanos(): bigint {
  const ms = performance.timeOrigin + performance.now();
  const whole = Math.floor(ms);
  return BigInt(whole) * 1_000_000n + BigInt(Math.floor((ms - whole) * 1_000_000));
}

/** Formats nanoseconds since the epoch as RFC3339 UTC with nine fractional digits. */
export function formatRfc3339Nanos(nanos: bigint): string {
  const ms = nanos / 1_000_000n;
  const iso = new Date(Number(ms)).toISOString(); // 2026-01-02T03:04:05.678Z
  const frac = (((nanos % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n).toString().padStart(9, '0');
  return `${iso.slice(0, 19)}.${frac}Z`;
}

function jsonValue(value: unknown, seen: WeakSet<object>): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) {
    const out: Record<string, unknown> = { name: value.name, message: value.message };
    for (const [k, v] of Object.entries(value)) out[k] = jsonValue(v, seen);
    if (value.stack) out.stack = value.stack;
    if (value.cause !== undefined) out.cause = jsonValue(value.cause, seen);
    return out;
  }
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (typeof value === 'object' && value !== null) {
    if (seen.has(value)) return '[circular]';
    seen.add(value);
    if (Array.isArray(value)) return value.map((v) => jsonValue(v, seen));
    if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), jsonValue(v, seen)]));
    if (value instanceof Set) return [...value].map((v) => jsonValue(v, seen));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = jsonValue(v, seen);
    return out;
  }
  return value;
}

class JsonLogger implements Logger {
  constructor(
    readonly component: string,
    readonly level: LogLevel,
    private readonly stream: { write(line: string): unknown },
    private readonly fields: LogFields,
  ) {}

  enabled(level: LogLevel): boolean {
    return LEVELS[level] >= LEVELS[this.level];
  }

  debug(msg: string, fields?: LogFields): void {
    this.write('debug', msg, fields);
  }

  info(msg: string, fields?: LogFields): void {
    this.write('info', msg, fields);
  }

  warn(msg: string, fields?: LogFields): void {
    this.write('warn', msg, fields);
  }

  error(msg: string, fields?: LogFields): void {
    this.write('error', msg, fields);
  }

  child(fields: LogFields): Logger {
    return new JsonLogger(this.component, this.level, this.stream, { ...this.fields, ...fields });
  }

  private write(level: LogLevel, msg: string, fields?: LogFields): void {
    if (!this.enabled(level)) return;
    const record: Record<string, unknown> = {
      time: formatRfc3339Nanos(nowNanos()),
      level,
      component: this.component,
      msg,
    };
    const seen = new WeakSet<object>();
    for (const [k, v] of Object.entries({ ...this.fields, ...fields })) {
      if (k in record || v === undefined) continue;
      record[k] = jsonValue(v, seen);
    }
    this.stream.write(JSON.stringify(record) + '\n');
  }
}

/** Creates a logger writing one JSON object per line (to stderr unless told otherwise). */
export function createLogger(component: string, options: LoggerOptions = {}): Logger {
  const envLevel = process.env.CILIUM_LOG_LEVEL;
  const level = options.level ?? (envLevel && isLogLevel(envLevel) ? envLevel : 'info');
  return new JsonLogger(component, level, options.stream ?? process.stderr, options.fields ?? {});
}
