import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type PolicyEntry, compareEntries, entryMatches, evaluateEntries, finalizeEntries } from './policy-entry.js';

const e = (identity: number, protocol: number, port: number, deny = false, endPort?: number, direction: 'ingress' | 'egress' = 'ingress'): PolicyEntry =>
  endPort === undefined ? { direction, identity, protocol, port, deny } : { direction, identity, protocol, port, endPort, deny };

test('finalizeEntries merges identical keys, deny wins, and sorts', () => {
  const out = finalizeEntries([e(300, 6, 80), e(2, 6, 80, false, undefined, 'egress'), e(300, 6, 80, true), e(300, 6, 80), e(0, 0, 0)]);
  assert.deepEqual(out, [e(0, 0, 0), e(300, 6, 80, true), e(2, 6, 80, false, undefined, 'egress')]);
});

test('finalizeEntries drops allows covered by a broader deny, keeps narrower denies', () => {
  const out = finalizeEntries([e(300, 6, 80), e(300, 6, 443), e(301, 6, 80), e(300, 0, 0, true), e(301, 6, 1000, true, 2000), e(301, 6, 1500)]);
  assert.deepEqual(out, [e(300, 0, 0, true), e(301, 6, 80), e(301, 6, 1000, true, 2000)]);
  const kept = finalizeEntries([e(300, 0, 0), e(300, 6, 80, true)]);
  assert.deepEqual(kept, [e(300, 0, 0), e(300, 6, 80, true)]);
});

test('compareEntries is a total order', () => {
  const list = [e(1, 6, 80, true), e(1, 6, 80), e(0, 17, 53), e(1, 6, 80, false, 90), e(5, 0, 0, false, undefined, 'egress')];
  const sorted = [...list].sort(compareEntries);
  assert.deepEqual(sorted, [e(0, 17, 53), e(1, 6, 80, true), e(1, 6, 80), e(1, 6, 80, false, 90), e(5, 0, 0, false, undefined, 'egress')]);
});

test('entryMatches and evaluateEntries', () => {
  const pkt = { direction: 'ingress' as const, identity: 300, protocol: 6, port: 8080 };
  assert.equal(entryMatches(e(0, 0, 0), pkt), true);
  assert.equal(entryMatches(e(300, 6, 8000, false, 9000), pkt), true);
  assert.equal(entryMatches(e(300, 17, 0), pkt), false);
  assert.equal(entryMatches(e(300, 6, 0, false, undefined, 'egress'), pkt), false);
  assert.deepEqual(evaluateEntries([], pkt, true), { allowed: false });
  assert.deepEqual(evaluateEntries([], pkt, false), { allowed: true });
  assert.deepEqual(evaluateEntries([e(0, 0, 0), e(300, 6, 8080)], pkt, true), { allowed: true, entry: e(300, 6, 8080) });
  assert.deepEqual(evaluateEntries([e(0, 0, 0), e(0, 6, 8080, true)], pkt, false), { allowed: false, entry: e(0, 6, 8080, true) });
});
