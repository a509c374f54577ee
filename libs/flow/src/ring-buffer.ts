// A fixed-capacity ring of events addressed by ever-increasing sequence numbers; readers
// that fall behind by more than the capacity find their position overwritten.

/** Default ring capacity (2^12 - 1), as upstream Hubble. */
export const DEFAULT_RING_CAPACITY = 4095;

/** Raised for a capacity that is not 2^n - 1. */
export class RingCapacityError extends Error {
  override readonly name = 'RingCapacityError';
  constructor(readonly capacity: number) {
    super(`create ring buffer: capacity ${capacity} is not of the form 2^n-1 (1, 3, 7, ..., 4095, 65535); pick one of those`);
  }
}

/** Reports whether `n` is a valid ring capacity (2^n - 1, at least 1, at most 2^24 - 1). */
export function isValidRingCapacity(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= 0xffffff && ((n + 1) & n) === 0;
}

/** The ring buffer. Sequence numbers start at 0; `head` is the sequence the next write gets. */
export class RingBuffer<T> {
  private readonly slots: (T | undefined)[];
  private readonly mask: number;
  private written = 0;
  private readonly waiters = new Set<() => void>();

  constructor(readonly capacity: number = DEFAULT_RING_CAPACITY) {
    if (!isValidRingCapacity(capacity)) throw new RingCapacityError(capacity);
    this.slots = new Array<T | undefined>(capacity + 1);
    this.mask = capacity;
  }

  /** Sequence number of the next write (= number of entries ever written). */
  get head(): number {
    return this.written;
  }

  /** Sequence number of the oldest entry still held. */
  get oldest(): number {
    return Math.max(0, this.written - this.capacity);
  }

  /** Number of entries held. */
  get length(): number {
    return this.written - this.oldest;
  }

  /** Number of readers currently blocked waiting for new entries. */
  get waiting(): number {
    return this.waiters.size;
  }

  /** Appends an entry, overwriting the oldest when full, and wakes waiting readers. */
  write(entry: T): void {
    this.slots[this.written & this.mask] = entry;
    this.written++;
    if (this.waiters.size === 0) return;
    const wake = [...this.waiters];
    this.waiters.clear();
    for (const w of wake) w();
  }

  /** The entry at `seq`, or undefined if it was overwritten or not written yet. */
  read(seq: number): T | undefined {
    if (seq < this.oldest || seq >= this.written) return undefined;
    return this.slots[seq & this.mask];
  }

  /** Resolves once an entry with sequence `seq` exists, or when `signal` aborts. */
  waitFor(seq: number, signal?: AbortSignal): Promise<void> {
    if (seq < this.written || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}
