// The kvstore heartbeat: `<p>/.heartbeat` = RFC3339 time, written by the leader every
// interval so agents can tell that the kvstore and an operator are alive.
import type { KvLogger, KvStore } from '@cilium-ts/kvstore';

/** Writes the heartbeat periodically while active. */
export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;
  private last: Date | undefined;

  constructor(
    private readonly kv: KvStore,
    private readonly intervalMs: number,
    private readonly log: KvLogger,
  ) {}

  /** Time of the last successful write. */
  get lastWritten(): Date | undefined {
    return this.last;
  }

  /** Turns the heartbeat on (writing at once) or off. */
  setActive(active: boolean): void {
    if (active && !this.timer) {
      void this.beat();
      this.timer = setInterval(() => void this.beat(), this.intervalMs);
      this.timer.unref();
    } else if (!active && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** Writes the heartbeat once. */
  async beat(): Promise<void> {
    const now = new Date();
    try {
      await this.kv.put(this.kv.keys.heartbeat(), now.toISOString());
      this.last = now;
    } catch (err) {
      this.log('warn', 'kvstore heartbeat write failed', { error: (err as Error).message });
    }
  }

  /** Stops writing. */
  stop(): void {
    this.setActive(false);
  }
}
