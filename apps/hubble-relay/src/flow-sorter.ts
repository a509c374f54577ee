import { earlier, TimeHeap, type Keyed } from './min-heap.js';

/** FlowSorterOptions size the sort buffer and say when idle entries are flushed. */
export interface FlowSorterOptions {
  /** Entries held before the oldest is sent (upstream: min(--sort-buffer-len-max, number × peers)). */
  capacity: number;
  /** When nothing arrives for this long, entries older than now − drainTimeoutMs are sent. */
  drainTimeoutMs: number;
  /** Clock in milliseconds since the epoch (tests pass their own). */
  now?: () => number;
}

/**
 * sortBufferCapacity is upstream's heap size: min(max, number × peers) when that product is
 * positive, else max. Computed on bigint so that `--all` (2^64−1) cannot overflow.
 */
export function sortBufferCapacity(max: number, number: bigint, peers: number): number {
  const product = number * BigInt(peers);
  if (product > 0n && product < BigInt(max)) return Number(product);
  return max;
}

/**
 * FlowSorter merges responses from several node streams in GetFlowsResponse.time order (kept as
 * numbers: `sec`, `nsec`) through a
 * bounded min-heap: when it is full the oldest entry is emitted; when nothing arrives for the
 * drain timeout the entries older than (now − drain timeout) are emitted, so that a silent or dead
 * node never holds back the others; close() emits everything left, oldest first.
 */
export class FlowSorter<T extends Keyed> {
  private readonly heap = new TimeHeap<T>();
  private timer: NodeJS.Timeout | undefined;
  private lastPush = 0;
  private stopped = false;
  private readonly now: () => number;

  constructor(
    private readonly opts: FlowSorterOptions,
    private readonly emit: (resp: T) => void,
  ) {
    this.now = opts.now ?? Date.now;
  }

  /** size is the number of buffered responses. */
  get size(): number {
    return this.heap.size;
  }

  /** push buffers one response and emits the oldest when the buffer is full. */
  push(resp: T): void {
    if (this.stopped) return;
    this.heap.push(resp);
    if (this.heap.size >= Math.max(1, this.opts.capacity)) this.emit(this.heap.pop() as T);
    // The drain timer is not re-armed per push (that churned a timer per flow): it notes the
    // time and, when it fires, waits out whatever part of the timeout has not yet passed.
    this.lastPush = performance.now();
    if (this.timer === undefined) this.arm(this.opts.drainTimeoutMs);
  }

  /** drainOlderThan emits every buffered response older than the given time (ms since epoch). */
  drainOlderThan(ms: number): void {
    const sec = Math.floor(ms / 1000);
    const limit: Keyed = { sec, nsec: Math.round((ms - sec * 1000) * 1e6) };
    for (;;) {
      const top = this.heap.peek();
      if (top === undefined || this.stopped || !earlier(top, limit)) return;
      this.emit(this.heap.pop() as T);
    }
  }

  /** close emits everything still buffered, oldest first, and stops the drain timer. */
  close(): void {
    if (this.stopped) return;
    this.clearTimer();
    while (this.heap.size > 0 && !this.stopped) this.emit(this.heap.pop() as T);
    this.stopped = true;
  }

  /** cancel drops what is buffered and stops the drain timer. */
  cancel(): void {
    this.stopped = true;
    this.clearTimer();
  }

  private arm(delayMs: number): void {
    this.clearTimer();
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const idle = performance.now() - this.lastPush;
      if (idle < this.opts.drainTimeoutMs) {
        this.arm(this.opts.drainTimeoutMs - idle);
        return;
      }
      this.drainOlderThan(this.now() - this.opts.drainTimeoutMs);
      if (this.heap.size > 0) this.arm(this.opts.drainTimeoutMs);
    }, Math.max(1, delayMs));
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
