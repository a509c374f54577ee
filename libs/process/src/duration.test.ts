import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DurationError, formatGoDuration, parseDuration, parseGoDuration } from './duration.js';

describe('parseDuration', () => {
  it('parses Go-style durations', () => {
    assert.equal(parseDuration('500ms', 'x'), 500);
    assert.equal(parseDuration('250ms', 'x'), 250);
    assert.equal(parseDuration('15s', 'x'), 15_000);
    assert.equal(parseDuration('1m30s', 'x'), 90_000);
    assert.equal(parseDuration('2h', 'x'), 7_200_000);
    assert.equal(parseDuration('1.5s', 'x'), 1500);
    assert.equal(parseDuration('0', 'x'), 0);
  });
  it('rejects what is not a duration, and negative ones, naming the flag', () => {
    assert.throws(() => parseDuration('15', 'identity-gc-interval'), /--identity-gc-interval: "15" is not a duration/);
    assert.throws(() => parseDuration('5', 'dial-timeout'), /--dial-timeout/);
    assert.throws(() => parseDuration('1d', 'x'), DurationError);
    assert.throws(() => parseDuration('', 'x'), DurationError);
    assert.throws(() => parseDuration('5s junk', 'x'), DurationError);
    assert.throws(() => parseDuration('-1s', 'x'), DurationError);
  });
});

describe('parseGoDuration', () => {
  it('reads nanoseconds with sign, fractions and every Go unit', () => {
    assert.equal(parseGoDuration('1.5s'), 1_500_000_000n);
    assert.equal(parseGoDuration('-1.5h'), -5_400_000_000_000n);
    assert.equal(parseGoDuration('2h45m'), 9_900_000_000_000n);
    assert.equal(parseGoDuration('300µs'), 300_000n);
    assert.equal(parseGoDuration('7ns'), 7n);
    assert.equal(parseGoDuration('5'), undefined);
    assert.equal(parseGoDuration(''), undefined);
  });
});

describe('formatGoDuration', () => {
  it('writes as time.Duration.String()', () => {
    assert.equal(formatGoDuration(0n), '0s');
    assert.equal(formatGoDuration(100_000_000_000n), '1m40s');
    assert.equal(formatGoDuration(7_200_000_000_000n), '2h0m0s');
    assert.equal(formatGoDuration(1_500_000_000n), '1.5s');
    assert.equal(formatGoDuration(1_500_000n), '1.5ms');
    assert.equal(formatGoDuration(-2_000n), '-2µs');
  });
});
