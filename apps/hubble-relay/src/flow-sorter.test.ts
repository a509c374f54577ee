import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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
    s.push(at(2));
    s.push(at(1));
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(names(out), ['t1.0', 't2.0']);
    s.cancel();
  });
});
