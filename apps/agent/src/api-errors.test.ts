import assert from 'node:assert/strict';
import { test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { GrpcStatusError } from '@cilium-ts/grpc';
import { mapDomainError } from './api-services.js';
import { IpamError } from './address-pool.js';
import { Ipv4Allocator } from './ipam.js';

test('an exhausted pod CIDR answers RESOURCE_EXHAUSTED, a bad address INVALID_ARGUMENT', () => {
  const pool = new Ipv4Allocator('10.0.0.0/30');
  pool.allocate('a');
  let exhausted: unknown;
  try {
    pool.allocate('b');
  } catch (err) {
    exhausted = err;
  }
  assert.ok(exhausted instanceof IpamError && exhausted.code === 'exhausted', 'the /30 holds one pod address');
  const mapped = mapDomainError(exhausted);
  assert.ok(mapped instanceof GrpcStatusError);
  assert.equal(mapped.code, status.RESOURCE_EXHAUSTED);
  assert.match(mapped.message, /10\.0\.0\.0\/30 is exhausted/);
  const invalid = mapDomainError(new IpamError('"x" is not an IPv4 address', 'invalid'));
  assert.ok(invalid instanceof GrpcStatusError);
  assert.equal(invalid.code, status.INVALID_ARGUMENT);
});
