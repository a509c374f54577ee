import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DefaultKvstoreLeaseTtlSeconds, DurationError, LeaseTtlError, MaxKvstoreLeaseTtlSeconds, MinKvstoreLeaseTtlSeconds, parseDuration, parseLeaseTtl } from './duration.js';

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

describe('parseLeaseTtl', () => {
  it('takes durations from 5s to 24h in whole seconds', () => {
    assert.equal(parseLeaseTtl('15m', 'kvstore-lease-ttl'), 900);
    assert.equal(parseLeaseTtl('15s', 'kvstore-lease-ttl'), 15);
    assert.equal(parseLeaseTtl('5s', 'kvstore-lease-ttl'), MinKvstoreLeaseTtlSeconds);
    assert.equal(parseLeaseTtl('86400s', 'kvstore-lease-ttl'), MaxKvstoreLeaseTtlSeconds);
    assert.equal(DefaultKvstoreLeaseTtlSeconds, 900);
  });
  it('rejects a bad, too small, too large or fractional value, naming the flag', () => {
    assert.throws(() => parseLeaseTtl('15', 'kvstore-lease-ttl'), /--kvstore-lease-ttl: "15" is not a duration/);
    assert.throws(() => parseLeaseTtl('2s', 'kvstore-lease-ttl'), (e: unknown) => e instanceof LeaseTtlError && /--kvstore-lease-ttl: "2s" \(2s\) is not between 5s and 86400s/.test(e.message));
    assert.throws(() => parseLeaseTtl('0', 'kvstore-lease-ttl'), LeaseTtlError);
    assert.throws(() => parseLeaseTtl('25h', 'kvstore-lease-ttl'), LeaseTtlError);
    assert.throws(() => parseLeaseTtl('7500ms', 'kvstore-lease-ttl'), /not a whole number of seconds/);
  });
});
