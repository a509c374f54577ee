import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkMaglevTableSize, maglevTable, type MaglevBackend } from './maglev.js';

const backends = (n: number, w = 1): MaglevBackend[] => Array.from({ length: n }, (_, i) => ({ key: `10.1.${i >> 8}.${i & 255}:80`, weight: w }));

// Measured: 2.23% at 16381 slots, 1.55% at 65521, 1.34% at 131071 (ideal 1.00%).
test('maglev: removing one of 100 backends moves about 1% of the flows (ideal: exactly its own)', () => {
  const m = 65521;
  const all = backends(100);
  const before = maglevTable(all, m);
  const removed = 42;
  const rest = all.filter((_, i) => i !== removed);
  const after = maglevTable(rest, m);
  let moved = 0;
  let own = 0;
  for (let s = 0; s < m; s++) {
    const a = all[before[s]!]!.key;
    const b = rest[after[s]!]!.key;
    if (a === all[removed]!.key) own++;
    if (a !== b) moved++;
  }
  const share = moved / m;
  // The removed backend's own flows must move; Maglev moves only a few more.
  assert.ok(moved >= own);
  assert.ok(own / m > 0.009 && share < 0.02, `moved ${(share * 100).toFixed(2)}% of the slots`);
});

test('maglev: every backend gets its share of slots, weights proportionally', () => {
  const m = 4093;
  const t = maglevTable(backends(10), m);
  const counts = new Array<number>(10).fill(0);
  for (const i of t) counts[i]!++;
  for (const c of counts) assert.ok(c >= 409 && c <= 410, `slots per backend: ${counts.join(',')}`);
  const w = maglevTable([{ key: 'a', weight: 3 }, { key: 'b', weight: 1 }, { key: 'c', weight: 0 }], m);
  const a = w.filter((i) => i === 0).length;
  const b = w.filter((i) => i === 1).length;
  assert.equal(w.filter((i) => i === 2).length, 0);
  assert.equal(a + b, m);
  assert.ok(Math.abs(a / b - 3) < 0.01, `weights 3:1 gave ${a}:${b}`);
});

test('maglev: no backend with a weight leaves the table empty; sizes must be supported primes', () => {
  assert.ok(maglevTable([], 251).every((i) => i === -1));
  assert.equal(checkMaglevTableSize(16381), 16381);
  assert.throws(() => checkMaglevTableSize(16384), /--bpf-lb-maglev-table-size: 16384 is not a supported Maglev table size/);
});
