/**
 * The agent's log: structured JSON lines (@cilium-ts/process's logger) whose level can
 * change while the agent runs (`cilium config Debug=true`), and the newest records kept in
 * memory for `cilium debuginfo` (AgentLog.RecentLog).
 */
import { createLogger, type LogFields, type Logger, type LogLevel } from '@cilium-ts/process';

const ORDER: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** Records kept for AgentLog.RecentLog by default. */
export const DEFAULT_RECENT_LOG_LINES = 500;

/** Options of an AgentLog. */
export interface AgentLogOptions {
  component: string;
  /** The level at start (--log-level). */
  level: LogLevel;
  /** Where lines go; default process.stderr. */
  stream?: { write(line: string): unknown };
  /** Newest records kept in memory (default DEFAULT_RECENT_LOG_LINES). */
  keep?: number;
}

/** The agent's log: one level shared by every child logger, and the newest records. */
export class AgentLog {
  /** The level records must reach to be written; changed at runtime by `setLevel`. */
  private current: LogLevel;
  private readonly lines: string[] = [];
  private readonly keep: number;
  /** The root logger; its children follow level changes too. */
  readonly logger: Logger;

  constructor(opts: AgentLogOptions) {
    this.current = opts.level;
    this.keep = Math.max(1, opts.keep ?? DEFAULT_RECENT_LOG_LINES);
    const out = opts.stream ?? process.stderr;
    // The inner logger writes every level; the shared level decides before it is called.
    const inner = createLogger(opts.component, {
      level: 'debug',
      stream: {
        write: (line: string) => {
          this.lines.push(line.endsWith('\n') ? line.slice(0, -1) : line);
          if (this.lines.length > this.keep) this.lines.splice(0, this.lines.length - this.keep);
          return out.write(line);
        },
      },
    });
    this.logger = new LevelSwitchedLogger(this, inner);
  }

  /** The level now. */
  get level(): LogLevel {
    return this.current;
  }

  /** Changes the level of the root logger and every child. */
  setLevel(level: LogLevel): void {
    this.current = level;
  }

  /** Whether records of `level` are written now. */
  enabled(level: LogLevel): boolean {
    return ORDER.indexOf(level) >= ORDER.indexOf(this.current);
  }

  /** Up to `max` of the newest records (0: all kept), oldest first. */
  recent(max = 0): string[] {
    return max > 0 ? this.lines.slice(-max) : [...this.lines];
  }
}

/** A Logger that asks its AgentLog for the level at every record. */
class LevelSwitchedLogger implements Logger {
  constructor(
    private readonly log: AgentLog,
    private readonly inner: Logger,
  ) {}

  get component(): string {
    return this.inner.component;
  }

  get level(): LogLevel {
    return this.log.level;
  }

  enabled(level: LogLevel): boolean {
    return this.log.enabled(level);
  }

  debug(msg: string, fields?: LogFields): void {
    if (this.log.enabled('debug')) this.inner.debug(msg, fields);
  }

  info(msg: string, fields?: LogFields): void {
    if (this.log.enabled('info')) this.inner.info(msg, fields);
  }

  warn(msg: string, fields?: LogFields): void {
    if (this.log.enabled('warn')) this.inner.warn(msg, fields);
  }

  error(msg: string, fields?: LogFields): void {
    if (this.log.enabled('error')) this.inner.error(msg, fields);
  }

  child(fields: LogFields): Logger {
    return new LevelSwitchedLogger(this.log, this.inner.child(fields));
  }
}
