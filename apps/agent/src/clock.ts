/**
 * Converts the datapath's CLOCK_MONOTONIC nanoseconds (bpf_ktime_get_ns) to wall-clock
 * nanoseconds. process.hrtime is CLOCK_MONOTONIC on Linux, so the offset between the
 * two clocks is measured here and refreshed, to follow wall-clock adjustments.
 */
import { performance } from 'node:perf_hooks';

/** Maps monotonic kernel time to Unix time in nanoseconds. */
export class MonotonicClock {
  private offsetNs = 0n;
  private measuredAt = 0n;

  constructor(private readonly refreshNs = 10_000_000_000n) {
    this.measure();
  }

  /** Unix time (ns) of a CLOCK_MONOTONIC timestamp. */
  toUnixNs(monotonicNs: bigint): bigint {
    const now = process.hrtime.bigint();
    if (now - this.measuredAt > this.refreshNs) this.measure();
    return monotonicNs + this.offsetNs;
  }

  /** Current Unix time in nanoseconds, sub-millisecond precision. */
  nowNs(): bigint {
    return this.toUnixNs(process.hrtime.bigint());
  }

  private measure(): void {
    const mono = process.hrtime.bigint();
    const wallNs = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
    this.offsetNs = wallNs - mono;
    this.measuredAt = mono;
  }
}
