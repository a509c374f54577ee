import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { descriptorSetPath } from '@cilium-ts/api';
import { FileDescriptorSet } from 'ts-proto-descriptors';
import { DescriptorPool, DescriptorSetError, splitDescriptorSet } from './descriptor-pool.js';
import { tempDir } from './testing/temp-dir.js';

const bytes = readFileSync(descriptorSetPath());

test('splitDescriptorSet yields each file byte-exact', () => {
  const parts = splitDescriptorSet(bytes);
  const decoded = FileDescriptorSet.decode(bytes);
  assert.equal(parts.length, decoded.file.length);
  // Re-framing the raw parts as field 1 reproduces the set.
  const reframed = Buffer.concat(parts.flatMap((p) => {
    const len: number[] = [];
    let n = p.length;
    while (n > 0x7f) {
      len.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    len.push(n);
    return [Buffer.from([0x0a, ...len]), Buffer.from(p)];
  }));
  assert.ok(reframed.equals(bytes));
});

test('withDependencies walks imports breadth-first and honours the skip set', () => {
  const pool = DescriptorPool.fromFile(descriptorSetPath());
  const obs = pool.file('observer/observer.proto')!;
  const names = pool.withDependencies(obs).map((f) => f.name);
  assert.equal(names[0], 'observer/observer.proto');
  assert.deepEqual([...names].sort(), [
    'flow/flow.proto', 'google/protobuf/timestamp.proto', 'google/protobuf/wrappers.proto',
    'observer/observer.proto', 'relay/relay.proto',
  ]);
  const skipped = pool.withDependencies(obs, new Set(['flow/flow.proto', 'observer/observer.proto'])).map((f) => f.name);
  assert.equal(skipped[0], 'observer/observer.proto', 'the requested file is always included');
  assert.ok(!skipped.includes('flow/flow.proto'));
  assert.ok(skipped.includes('google/protobuf/wrappers.proto'), 'reached through flow.proto although flow.proto is skipped');
  assert.ok(pool.serviceNames().includes('observer.Observer'));
  assert.ok(pool.hasMessage('flow.Flow') && pool.hasMessage('.cilium.agent.v1.MetadataEvent'));
});

test('a set without its imports, or an unreadable file, is a DescriptorSetError', () => {
  const dir = tempDir('descriptor-pool');
  try {
    const set = FileDescriptorSet.decode(bytes);
    const partial = FileDescriptorSet.encode({ file: set.file.filter((f) => f.name !== 'google/protobuf/timestamp.proto') }).finish();
    assert.throws(() => new DescriptorPool(partial), (e: unknown) => e instanceof DescriptorSetError && /--include_imports/.test(e.message));
    const missing = join(dir.path, 'missing.binpb');
    assert.throws(() => DescriptorPool.fromFile(missing), (e: unknown) => e instanceof DescriptorSetError && e.path === missing);
    const garbage = join(dir.path, 'garbage.binpb');
    writeFileSync(garbage, Buffer.from([0x0a, 0xff]));
    assert.throws(() => DescriptorPool.fromFile(garbage), DescriptorSetError);
  } finally {
    dir.remove();
  }
});
