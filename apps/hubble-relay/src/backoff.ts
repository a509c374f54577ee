/** BackoffOptions bound an exponential backoff. */
export interface BackoffOptions {
  /** First delay in milliseconds. */
  initialMs: number;
  /** Largest delay in milliseconds. */
  maxMs: number;
  /** Growth factor per failure (default 2). */
  factor?: number;
  /** Random spread as a fraction of the delay, 0..1 (default 0.2). */
  jitter?: number;
}

/** Backoff hands out exponentially growing, jittered delays until reset after a success. */
export class Backoff {
  private attempt = 0;
  constructor(
    private readonly opts: BackoffOptions,
    private readonly random: () => number = Math.random,
  ) {}

  /** next returns the delay before the next attempt and counts one failure. */
  next(): number {
    const factor = this.opts.factor ?? 2;
    const jitter = this.opts.jitter ?? 0.2;
    const base = Math.min(this.opts.maxMs, this.opts.initialMs * factor ** this.attempt);
    this.attempt++;
    const spread = base * jitter * (this.random() * 2 - 1);
    return Math.max(0, Math.min(this.opts.maxMs, Math.round(base + spread)));
  }

  /** reset starts over from the initial delay. */
  reset(): void {
    this.attempt = 0;
  }

  /** failures is the number of delays handed out since the last reset. */
  get failures(): number {
    return this.attempt;
  }
}
