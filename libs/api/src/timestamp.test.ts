import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  compareTimestamps, dateFromTimestamp, nanosFromTimestamp, timestampFromDate, timestampFromMillis, timestampFromNanos,
} from './timestamp.js';

test('timestampFromNanos splits into seconds and nanos', () => {
  assert.deepEqual(timestampFromNanos(1_500_000_001n), { seconds: 1n, nanos: 500_000_001 });
  assert.deepEqual(timestampFromNanos(0n), { seconds: 0n, nanos: 0 });
});

test('timestampFromNanos keeps nanos non-negative before the epoch', () => {
  assert.deepEqual(timestampFromNanos(-1n), { seconds: -1n, nanos: 999_999_999 });
  assert.deepEqual(timestampFromNanos(-1_000_000_000n), { seconds: -1n, nanos: 0 });
});

test('nanos -> Timestamp -> nanos is the identity', () => {
  fc.assert(fc.property(fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }), (n) => {
    const ts = timestampFromNanos(n);
    assert.ok(ts.nanos >= 0 && ts.nanos < 1e9);
    assert.equal(nanosFromTimestamp(ts), n);
  }));
});

test('Date conversions keep milliseconds', () => {
  const d = new Date('2026-01-02T03:04:05.678Z');
  assert.deepEqual(timestampFromDate(d), { seconds: BigInt(Math.floor(d.getTime() / 1000)), nanos: 678_000_000 });
  assert.equal(dateFromTimestamp(timestampFromMillis(d.getTime())).toISOString(), d.toISOString());
});

test('compareTimestamps orders by seconds then nanos', () => {
  assert.ok(compareTimestamps({ seconds: 1n, nanos: 5 }, { seconds: 2n, nanos: 0 }) < 0);
  assert.ok(compareTimestamps({ seconds: 2n, nanos: 5 }, { seconds: 2n, nanos: 4 }) > 0);
  assert.equal(compareTimestamps({ seconds: 2n, nanos: 5 }, { seconds: 2n, nanos: 5 }), 0);
});
