// Progress lines of "lab up": "[3/9] agent n1 ... ready (1.2s)".

/** Numbered steps with timing, written to a stream (stderr by default). */
export class Progress {
  private step = 0;

  constructor(
    private readonly total: number,
    private readonly out: NodeJS.WritableStream = process.stderr,
  ) {}

  /** Runs fn as the next step; prints "[k/N] label ... <done> (t s)" or "... FAILED". */
  async run<T>(label: string, fn: () => Promise<T>, done: (v: T) => string = () => 'ready'): Promise<T> {
    this.step++;
    const prefix = `[${this.step}/${this.total}] ${label} ...`;
    const started = Date.now();
    this.out.write(prefix);
    try {
      const v = await fn();
      this.out.write(` ${done(v)} (${((Date.now() - started) / 1000).toFixed(1)}s)\n`);
      return v;
    } catch (err) {
      this.out.write(` FAILED (${((Date.now() - started) / 1000).toFixed(1)}s)\n`);
      throw err;
    }
  }
}
