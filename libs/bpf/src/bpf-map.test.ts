import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BpfMap, MapType } from './bpf-map.js';
import { numPossibleCpus, mapInfo } from './libbpf.js';
import { u32, u64 } from './map-codecs.js';
import { needsRoot } from './testing/test-support.js';

test('batch update, lookup and delete over a hash map', needsRoot, () => {
  const m = BpfMap.create({ type: MapType.hash, name: 'cts_batch', maxEntries: 10000 }, u32, u64);
  try {
    const entries = Array.from({ length: 5000 }, (_, i) => [i, BigInt(i) * 3n] as const);
    m.updateBatch(entries);
    const got = m.entriesBatch(128).map(([k, [v]]) => [k, v] as const).sort((a, b) => a[0] - b[0]);
    assert.deepEqual(got, entries);
    assert.equal(m.deleteBatch([1, 2, 3, 999999, 4]), 4, 'an absent key is skipped, the rest deleted');
    assert.equal(m.lookup(2), undefined);
    assert.equal(m.entriesBatch().length, 4996);
  } finally {
    m.close();
  }
});

test('LRU hash evicts instead of failing when full', needsRoot, () => {
  const m = BpfMap.create({ type: MapType.lruHash, name: 'cts_lru', maxEntries: 256 }, u32, u32);
  try {
    for (let i = 0; i < 2000; i++) m.update(i, i);
    const n = m.entriesBatch().length;
    assert.ok(n > 0 && n <= 256, `LRU holds at most max_entries (${n})`);
    assert.equal(m.lookup(1999), 1999, 'the newest entry is present');
  } finally {
    m.close();
  }
});

test('per-CPU hash and array: one value per possible CPU', needsRoot, () => {
  const cpus = numPossibleCpus();
  for (const type of [MapType.percpuHash, MapType.percpuArray, MapType.lruPercpuHash]) {
    const m = BpfMap.create({ type, name: 'cts_percpu', maxEntries: 4 }, u32, u64);
    try {
      assert.equal(m.perCpu, true);
      const values = Array.from({ length: cpus }, (_, i) => BigInt(i + 10));
      m.updatePerCpu(1, values);
      assert.deepEqual(m.lookupPerCpu(1), values);
      assert.deepEqual(m.entriesBatch().find(([k]) => k === 1)?.[1], values);
      assert.throws(() => m.updatePerCpu(1, values.slice(1)), /per-CPU values given/);
      assert.throws(() => m.update(1, 1n), /per-CPU maps take one value per CPU/);
    } finally {
      m.close();
    }
  }
});

test('map-in-map: an array of maps holds inner maps by fd and reports their ids', needsRoot, () => {
  const inner = BpfMap.create({ type: MapType.hash, name: 'cts_inner', maxEntries: 16 }, u32, u32);
  const inner2 = BpfMap.create({ type: MapType.hash, name: 'cts_inner2', maxEntries: 16 }, u32, u32);
  const outer = BpfMap.create({ type: MapType.arrayOfMaps, name: 'cts_outer', maxEntries: 4, innerMapFd: inner.fd }, u32, u32);
  const hashOuter = BpfMap.create({ type: MapType.hashOfMaps, name: 'cts_houter', maxEntries: 4, innerMapFd: inner.fd }, u32, u32);
  try {
    outer.update(2, inner2.fd);
    assert.equal(outer.lookup(2), mapInfo(inner2.fd, 'inner2').id, 'lookup returns the inner map id');
    hashOuter.update(7, inner.fd);
    assert.deepEqual(hashOuter.entriesBatch().map(([k, [v]]) => [k, v]), [[7, mapInfo(inner.fd, 'inner').id]]);
    const wrong = BpfMap.create({ type: MapType.array, name: 'cts_wrong', maxEntries: 1 }, u32, u64);
    try {
      assert.throws(() => outer.update(1, wrong.fd), /EINVAL|Invalid/, 'an inner map unlike the template is refused');
    } finally {
      wrong.close();
    }
  } finally {
    for (const m of [hashOuter, outer, inner2, inner]) m.close();
  }
});

test('creating a map with impossible sizes fails with the operation named', needsRoot, () => {
  assert.throws(() => BpfMap.create({ type: MapType.arrayOfMaps, name: 'cts_bad', maxEntries: 1 }, u32, u32), /create map "cts_bad"/);
});
