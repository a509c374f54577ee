import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DurationError, parseDuration } from './duration.js';

describe('parseDuration', () => {
  it('parses Go-style durations', () => {
    assert.equal(parseDuration('500ms', 'x'), 500);
    assert.equal(parseDuration('15s', 'x'), 15_000);
    assert.equal(parseDuration('1m30s', 'x'), 90_000);
    assert.equal(parseDuration('2h', 'x'), 7_200_000);
    assert.equal(parseDuration('1.5s', 'x'), 1500);
    assert.equal(parseDuration('0', 'x'), 0);
  });
  it('rejects what is not a duration, naming the flag', () => {
    assert.throws(() => parseDuration('15', 'identity-gc-interval'), /--identity-gc-interval: "15" is not a duration/);
    assert.throws(() => parseDuration('1d', 'x'), DurationError);
    assert.throws(() => parseDuration('', 'x'), DurationError);
    assert.throws(() => parseDuration('5s junk', 'x'), DurationError);
  });
});
