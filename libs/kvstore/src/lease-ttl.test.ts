import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DefaultKvstoreLeaseTtlSeconds, LeaseTtlError, MaxKvstoreLeaseTtlSeconds, MinKvstoreLeaseTtlSeconds, parseLeaseTtl } from './lease-ttl.js';

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
