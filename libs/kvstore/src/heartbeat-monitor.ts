// The reader of the operator's kvstore heartbeat (`<p>/.heartbeat`, an RFC3339 time the
// operator writes every interval): as in Cilium, a heartbeat older than three intervals
// means the kvstore (or the operator that keeps it) is not healthy.
import type { KvStore } from './kvstore.js';
import type { WatchCloser } from './prefix-watch.js';

/** How many intervals a heartbeat may be old before it is stale (Cilium's limit). */
export const HeartbeatStaleIntervals = 3;

/** What the heartbeat says now. */
export interface HeartbeatStatus {
  /** Time the operator wrote in the last heartbeat seen (undefined: none seen yet). */
  last?: Date;
  /** Age of that heartbeat in ms (now minus its time). */
  ageMs?: number;
  /** Older than the limit (a heartbeat was seen, and is now too old or gone). */
  stale: boolean;
  /** The limit: three times the operator's interval. */
  limitMs: number;
  /** The key held something that is not a time. */
  invalid?: string;
}

/** Options of HeartbeatMonitor. */
export interface HeartbeatMonitorOptions {
  /** The operator's heartbeat interval (its --heartbeat-interval). */
  intervalMs: number;
  /** Clock (wall time: the heartbeat is wall time). */
  now?: () => number;
}

/** Follows `<p>/.heartbeat` and tells how old the last one is. */
export class HeartbeatMonitor {
  private last: Date | undefined;
  private invalid: string | undefined;
  private watcher: WatchCloser | undefined;
  private readonly now: () => number;

  constructor(
    private readonly kv: KvStore,
    private readonly opts: HeartbeatMonitorOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  /** Starts watching the key. */
  start(): this {
    const key = this.kv.keys.heartbeat();
    this.watcher = this.kv.watchPrefix(key, {
      put: (k, value) => {
        if (k !== key) return;
        const t = Date.parse(value);
        if (Number.isNaN(t)) this.invalid = `${key} holds "${value.slice(0, 40)}", not an RFC3339 time`;
        else {
          this.last = new Date(t);
          this.invalid = undefined;
        }
      },
      // A deleted heartbeat keeps aging from its last time.
      delete: () => undefined,
    });
    return this;
  }

  /** The heartbeat's age and whether it is stale. */
  status(): HeartbeatStatus {
    const limitMs = HeartbeatStaleIntervals * this.opts.intervalMs;
    if (!this.last) return { stale: false, limitMs, ...(this.invalid ? { invalid: this.invalid } : {}) };
    const ageMs = Math.max(0, this.now() - this.last.getTime());
    return { last: this.last, ageMs, stale: ageMs > limitMs || this.invalid !== undefined, limitMs, ...(this.invalid ? { invalid: this.invalid } : {}) };
  }

  /** Stops watching. */
  close(): void {
    this.watcher?.close();
  }
}
