import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isValidRingCapacity, RingBuffer, RingCapacityError } from './ring-buffer.js';

test('ring buffer: capacity 2^n-1, overwrite, read by sequence', () => {
  assert.throws(() => new RingBuffer(4096), RingCapacityError);
  assert.ok(isValidRingCapacity(1) && isValidRingCapacity(4095) && !isValidRingCapacity(0) && !isValidRingCapacity(6));
  const r = new RingBuffer<number>(3);
  assert.equal(r.length, 0);
  for (let i = 0; i < 5; i++) r.write(i * 10);
  assert.equal(r.head, 5);
  assert.equal(r.oldest, 2);
  assert.equal(r.length, 3);
  assert.deepEqual([r.read(1), r.read(2), r.read(4), r.read(5)], [undefined, 20, 40, undefined]);
});

test('ring buffer: waitFor wakes on write and on abort, leaving no waiter behind', async () => {
  const r = new RingBuffer<number>(7);
  const woke = r.waitFor(0);
  assert.equal(r.waiting, 1);
  r.write(1);
  await woke;
  assert.equal(r.waiting, 0);
  const ac = new AbortController();
  const aborted = r.waitFor(1, ac.signal);
  assert.equal(r.waiting, 1);
  ac.abort();
  await aborted;
  assert.equal(r.waiting, 0);
});
