import { earlier, keyFromMs, type Keyed } from './timestamps.js';

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

/** SortSource is one input of a FlowSorter (a node's stream): push its entries, end it when it ends. */
export interface SortSource<T extends Keyed> {
  /** push buffers one entry of this source (and sends whatever that releases). */
  push(entry: T): void;
  /** end says no more entries will come: the sorter stops waiting for this source. */
  end(): void;
}

/** One source's buffered entries, oldest first, and its place in the sorter's heap. */
class SourceQueue<T extends Keyed> {
  items: T[] = [];
  head = 0;
  /** Index in the heap of non-empty queues, or -1. */
  slot = -1;

  constructor(public live: boolean) {}

  get empty(): boolean {
    return this.head === this.items.length;
  }

  /** The earliest entry (the queue must not be empty). */
  get first(): T {
    return this.items[this.head]!;
  }

  /** Inserts in time order; returns true when the entry became the first. */
  insert(entry: T): boolean {
    const a = this.items;
    const n = a.length;
    if (this.head === n || !earlier(entry, a[n - 1]!)) {
      a.push(entry);
      return this.head === n;
    }
    // Out of order within the source (rare): put it in its place among what is buffered.
    let lo = this.head;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (earlier(entry, a[mid]!)) hi = mid;
      else lo = mid + 1;
    }
    a.splice(lo, 0, entry);
    return lo === this.head;
  }

  shift(): T {
    const a = this.items;
    const e = a[this.head++]!;
    if (this.head === a.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= a.length) {
      this.items = a.slice(this.head);
      this.head = 0;
    }
    return e;
  }
}

/**
 * FlowSorter merges responses from several node streams in GetFlowsResponse.time order (kept as
 * numbers: `sec`, `nsec`) through a bounded buffer: one queue per source (a node's stream,
 * which hubble-server sends in time order; a late entry is still put in its place among what
 * that source has buffered) and a min-heap over the queues' first entries.
 *
 * An entry is sent as soon as nothing earlier can come: it is the earliest buffered and every
 * live source has something buffered (so a merged stream from busy nodes waits for no timer and
 * holds few entries); otherwise, as upstream's heap, when the buffer is full the oldest entry is
 * sent, and when nothing arrives for the drain timeout the entries older than (now − drain
 * timeout) are sent, so that a silent or dead node never holds back the others; close() sends
 * everything left, oldest first. Entries pushed on the sorter itself (the relay's own events)
 * belong to no live source.
 */
export class FlowSorter<T extends Keyed> {
  /** Non-empty queues, as a binary min-heap on their first entry. */
  private readonly heap: SourceQueue<T>[] = [];
  private readonly own: SourceQueue<T>;
  private total = 0;
  private liveSources = 0;
  private liveWaiting = 0;
  private timer: NodeJS.Timeout | undefined;
  private lastPush = 0;
  private stopped = false;
  private readonly now: () => number;
  private readonly capacity: number;

  constructor(
    private readonly opts: FlowSorterOptions,
    private readonly emit: (resp: T) => void,
  ) {
    this.now = opts.now ?? Date.now;
    this.capacity = Math.max(1, opts.capacity);
    this.own = new SourceQueue<T>(false);
  }

  /** size is the number of buffered responses. */
  get size(): number {
    return this.total;
  }

  /** addSource registers a live input; the sorter waits for it (within the bounds) until it ends. */
  addSource(): SortSource<T> {
    this.liveSources++;
    const q = new SourceQueue<T>(true);
    return { push: (entry) => this.add(q, entry), end: () => this.endSource(q) };
  }

  /** push buffers one entry that belongs to no source (the relay's own events). */
  push(entry: T): void {
    this.add(this.own, entry);
  }

  /** Buffers `entry` of source `q` and sends what that releases. */
  private add(q: SourceQueue<T>, entry: T): void {
    if (this.stopped) return;
    const wasEmpty = q.empty;
    const becameFirst = q.insert(entry);
    this.total++;
    if (wasEmpty) {
      if (q.live) this.liveWaiting++;
      q.slot = this.heap.length;
      this.heap.push(q);
      this.up(q.slot);
    } else if (becameFirst) {
      this.up(q.slot);
    }
    this.release();
    // The drain timer is not re-armed per push (that churned a timer per flow): it notes the
    // time and, when it fires, waits out whatever part of the timeout has not yet passed.
    this.lastPush = performance.now();
    if (this.timer === undefined && this.total > 0) this.arm(this.opts.drainTimeoutMs);
  }

  /** Source `q` ends; its buffered entries stay and no longer hold the others. */
  private endSource(q: SourceQueue<T>): void {
    if (!q.live) return;
    q.live = false;
    this.liveSources--;
    if (!q.empty) this.liveWaiting--;
    if (!this.stopped) this.release();
  }

  /** drainOlderThan emits every buffered response older than the given time (ms since epoch). */
  drainOlderThan(ms: number): void {
    const limit = keyFromMs(ms);
    while (!this.stopped && this.heap.length > 0 && earlier(this.heap[0]!.first, limit)) this.popOne();
  }

  /** close emits everything still buffered, oldest first, and stops the drain timer. */
  close(): void {
    if (this.stopped) return;
    this.clearTimer();
    while (this.heap.length > 0 && !this.stopped) this.popOne();
    this.stopped = true;
  }

  /** cancel drops what is buffered and stops the drain timer. */
  cancel(): void {
    this.stopped = true;
    this.clearTimer();
  }

  /** Sends while the buffer is full or every live source has an entry waiting. */
  private release(): void {
    while (!this.stopped && this.total > 0 && (this.total >= this.capacity || this.liveWaiting === this.liveSources)) this.popOne();
  }

  private popOne(): void {
    const q = this.heap[0]!;
    const e = q.shift();
    this.total--;
    if (q.empty) {
      if (q.live) this.liveWaiting--;
      const last = this.heap.pop()!;
      q.slot = -1;
      if (last !== q) {
        this.heap[0] = last;
        last.slot = 0;
        this.down(0);
      }
    } else {
      this.down(0);
    }
    this.emit(e);
  }

  private up(i: number): void {
    const h = this.heap;
    const q = h[i]!;
    const key = q.first;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pq = h[p]!;
      if (!earlier(key, pq.first)) break;
      h[i] = pq;
      pq.slot = i;
      i = p;
    }
    h[i] = q;
    q.slot = i;
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h.length;
    const q = h[i]!;
    const key = q.first;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      let m = l;
      const r = l + 1;
      if (r < n && earlier(h[r]!.first, h[l]!.first)) m = r;
      const mq = h[m]!;
      if (!earlier(mq.first, key)) break;
      h[i] = mq;
      mq.slot = i;
      i = m;
    }
    h[i] = q;
    q.slot = i;
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
      if (this.total > 0) this.arm(this.opts.drainTimeoutMs);
    }, Math.max(1, delayMs));
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
