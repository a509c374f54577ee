import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FlowSorter, sortBufferCapacity } from './flow-sorter.js';

interface Entry {
  sec: number;
  nsec: number;
  name: string;
}
const at = (sec: number, nsec = 0): Entry => ({ sec, nsec, name: `t${sec}.${nsec}` });
const names = (rs: Entry[]): string[] => rs.map((r) => r.name);

describe('sortBufferCapacity', () => {
  it('is min(max, number × peers), or max when the product is zero or huge', () => {
    assert.equal(sortBufferCapacity(100, 20n, 3), 60);
    assert.equal(sortBufferCapacity(100, 50n, 3), 100);
    assert.equal(sortBufferCapacity(100, 0n, 3), 100);
    assert.equal(sortBufferCapacity(100, 18446744073709551615n, 3), 100);
  });
});

describe('FlowSorter', () => {
  it('emits the oldest entry when full and the rest in order on close', () => {
    const out: Entry[] = [];
    const s = new FlowSorter<Entry>({ capacity: 3, drainTimeoutMs: 60_000 }, (r) => out.push(r));
    s.addSource(); // a live node with nothing yet: the buffer waits for it up to its capacity
    for (const r of [at(5), at(3), at(4, 2), at(4, 1), at(1), at(9)]) s.push(r);
    assert.deepEqual(names(out), ['t3.0', 't4.1', 't1.0', 't4.2']);
    s.close();
    assert.deepEqual(names(out), ['t3.0', 't4.1', 't1.0', 't4.2', 't5.0', 't9.0']);
    s.push(at(0));
    assert.equal(out.length, 6, 'nothing is accepted after close');
  });

  it('drains entries older than the drain horizon so a silent node does not hold the others', () => {
    const out: Entry[] = [];
    const s = new FlowSorter<Entry>({ capacity: 100, drainTimeoutMs: 60_000, now: () => 10_000 }, (r) => out.push(r));
    s.addSource();
    s.push(at(12));
    s.push(at(8));
    s.push(at(9, 500));
    s.drainOlderThan(10_000);
    assert.deepEqual(names(out), ['t8.0', 't9.500']);
    s.cancel();
    assert.equal(s.size, 1);
  });

  it('flushes old entries by itself after the drain timeout', async () => {
    const out: Entry[] = [];
    const s = new FlowSorter<Entry>({ capacity: 100, drainTimeoutMs: 20 }, (r) => out.push(r));
    s.addSource();
    s.push(at(2));
    s.push(at(1));
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(names(out), ['t1.0', 't2.0']);
    s.cancel();
  });

  it('sends as soon as every live source has an entry, merging in time order', () => {
    const out: Entry[] = [];
    const s = new FlowSorter<Entry>({ capacity: 100, drainTimeoutMs: 60_000 }, (r) => out.push(r));
    const a = s.addSource();
    const b = s.addSource();
    a.push(at(1));
    a.push(at(3));
    assert.deepEqual(names(out), [], 'b has sent nothing yet: a must wait');
    b.push(at(2));
    assert.deepEqual(names(out), ['t1.0', 't2.0'], 'everything before what b may still send goes out');
    b.push(at(4));
    assert.deepEqual(names(out), ['t1.0', 't2.0', 't3.0']);
    a.end();
    assert.deepEqual(names(out), ['t1.0', 't2.0', 't3.0', 't4.0'], 'an ended source holds nobody back');
    s.cancel();
  });

  it('puts a late entry of a source in its place among what that source buffered', () => {
    const out: Entry[] = [];
    const s = new FlowSorter<Entry>({ capacity: 100, drainTimeoutMs: 60_000 }, (r) => out.push(r));
    const a = s.addSource();
    s.addSource();
    for (const t of [5, 7, 6, 1, 9]) a.push(at(t));
    s.close();
    assert.deepEqual(names(out), ['t1.0', 't5.0', 't6.0', 't7.0', 't9.0']);
  });

  it('emits every entry once, sorted, for any interleaving of in-order sources (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 40 }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 400 }),
        fc.integer({ min: 1, max: 50 }),
        (lists, picks, capacity) => {
          const out: Entry[] = [];
          const s = new FlowSorter<Entry>({ capacity, drainTimeoutMs: 60_000 }, (r) => out.push(r));
          const streams = lists.map((l) => ({ src: s.addSource(), rest: [...l].sort((x, y) => x - y).map((t) => at(t)) }));
          const total = streams.reduce((n, x) => n + x.rest.length, 0);
          let pick = 0;
          while (streams.some((x) => x.rest.length > 0)) {
            const open = streams.filter((x) => x.rest.length > 0);
            const x = open[(picks[pick++] ?? 0) % open.length]!;
            x.src.push(x.rest.shift()!);
            if (x.rest.length === 0) x.src.end();
          }
          s.close();
          assert.equal(out.length, total);
          // With capacity at least the whole input, the merge is exact.
          if (capacity >= total) for (let i = 1; i < out.length; i++) assert.ok(out[i]!.sec >= out[i - 1]!.sec);
        },
      ),
    );
  });
});
