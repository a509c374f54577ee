/** Keyed is what the heap orders on: a time as seconds and nanoseconds (plain numbers). */
export interface Keyed {
  readonly sec: number;
  readonly nsec: number;
}

/** earlier reports whether a is strictly earlier than b. */
export function earlier(a: Keyed, b: Keyed): boolean {
  return a.sec < b.sec || (a.sec === b.sec && a.nsec < b.nsec);
}

/**
 * TimeHeap is a binary min-heap on (sec, nsec); ties come out in no particular order. Sifts
 * move a hole instead of swapping pairs, and compare numbers, not BigInts.
 */
export class TimeHeap<T extends Keyed> {
  private readonly items: T[] = [];

  /** size is the number of queued items. */
  get size(): number {
    return this.items.length;
  }

  /** push adds an item. */
  push(item: T): void {
    const a = this.items;
    let i = a.length;
    a.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = a[parent]!;
      if (!earlier(item, p)) break;
      a[i] = p;
      i = parent;
    }
    a[i] = item;
  }

  /** peek returns the earliest item without removing it. */
  peek(): T | undefined {
    return this.items[0];
  }

  /** pop removes and returns the earliest item. */
  pop(): T | undefined {
    const a = this.items;
    const n = a.length;
    if (n === 0) return undefined;
    const top = a[0]!;
    const last = a.pop()!;
    if (n > 1) {
      const len = n - 1;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= len) break;
        let m = l;
        const r = l + 1;
        if (r < len && earlier(a[r]!, a[l]!)) m = r;
        if (!earlier(a[m]!, last)) break;
        a[i] = a[m]!;
        i = m;
      }
      a[i] = last;
    }
    return top;
  }
}
