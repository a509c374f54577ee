import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BpfMap, MapType } from './bpf-map.js';
import { policyKey, policyKeyId, policyMapEntries, policyValue, type PolicyEntry, type PolicyKey, type PolicyValue } from './map-codecs.js';
import { PolicyMapWriter, type PolicyMapWrite } from './policy-map-writer.js';
import { DatapathInputError } from './errors.js';
import { needsRoot } from './testing/test-support.js';

function commit(w: PolicyMapWriter, write: PolicyMapWrite): void {
  if (write.updates.length) w.map.updateBatch(write.updates);
  if (write.deletes.length) w.map.deleteBatch(write.deletes);
}

function kernel(m: BpfMap<PolicyKey, PolicyValue>): Map<string, PolicyValue> {
  return new Map(m.entries().map(([k, v]) => [policyKeyId(k), v]));
}

function expected(entries: Iterable<PolicyEntry>): Map<string, PolicyValue> {
  return new Map([...policyMapEntries([...entries]).entries()].map(([id, { value }]) => [id, value]));
}

/** A small pseudo-random generator, so a failure replays. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

test('policy-map writer: random diffs (ranges, L7 ports inside them, denies) keep the map equal to the full expansion, without reading it', needsRoot, () => {
  const m = BpfMap.create({ type: MapType.hash, name: 'cts_pmw', maxEntries: 16384 }, policyKey, policyValue);
  try {
    const w = new PolicyMapWriter(m);
    commit(w, w.resync([]));
    const rnd = rng(7);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const candidates: PolicyEntry[] = [];
    for (const identity of [0, 300, 301]) {
      for (const direction of ['ingress', 'egress'] as const) {
        candidates.push({ direction, identity, protocol: 6, port: 80, deny: false });
        candidates.push({ direction, identity, protocol: 6, port: 80, deny: false, proxyPort: 10001 });
        candidates.push({ direction, identity, protocol: 6, port: 70, endPort: 90, deny: false });
        candidates.push({ direction, identity, protocol: 6, port: 85, endPort: 95, deny: true });
        candidates.push({ direction, identity, protocol: 17, port: 0, deny: false });
        candidates.push({ direction, identity, protocol: 0, port: 0, deny: false });
      }
    }
    const id = (e: PolicyEntry): string => JSON.stringify(e);
    const current = new Map<string, PolicyEntry>();
    for (let step = 0; step < 400; step++) {
      const removed: PolicyEntry[] = [];
      const added: PolicyEntry[] = [];
      for (let i = 0; i < 1 + Math.floor(rnd() * 4); i++) {
        const e = pick(candidates);
        if (current.has(id(e))) {
          if (!removed.some((r) => id(r) === id(e))) removed.push(e);
        } else if (!added.some((a) => id(a) === id(e))) added.push(e);
      }
      for (const e of removed) current.delete(id(e));
      for (const e of added) current.set(id(e), e);
      commit(w, w.apply({ removed, added }));
      assert.deepEqual(kernel(m), expected(current.values()), `step ${step}`);
      const denyIngress = [...expected(current.values())].some(([k, v]) => v.deny && k.startsWith('ingress/'));
      assert.equal((w.denyBits & 4) !== 0, denyIngress, `deny bit at step ${step}`);
    }
  } finally {
    m.close();
  }
});

test('policy-map writer: a diff writes only its keys; resync repairs a map changed behind its back; a bad entry changes nothing', needsRoot, () => {
  const m = BpfMap.create({ type: MapType.hash, name: 'cts_pmw2', maxEntries: 16384 }, policyKey, policyValue);
  try {
    const w = new PolicyMapWriter(m);
    const base: PolicyEntry[] = Array.from({ length: 1000 }, (_, i) => ({ direction: 'ingress', identity: 1000 + i, protocol: 6, port: 80, deny: false }));
    commit(w, w.resync(base));
    const add: PolicyEntry = { direction: 'ingress', identity: 5000, protocol: 6, port: 443, deny: false };
    const write = w.apply({ removed: [base[0]!], added: [add] });
    assert.equal(write.updates.length, 1);
    assert.equal(write.deletes.length, 1);
    commit(w, write);
    m.delete({ direction: 'ingress', identity: 1001, protocol: 6, port: 80 });
    m.update({ direction: 'egress', identity: 9, protocol: 0, port: 0 }, { deny: false, proxyPort: 0 });
    const all = [...base.slice(1), add];
    const repair = w.resync(all);
    assert.equal(repair.updates.length, 1);
    assert.equal(repair.deletes.length, 1);
    commit(w, repair);
    assert.deepEqual(kernel(m), expected(all));
    assert.throws(() => w.apply({ removed: [add], added: [{ ...add, port: 70000 }] }), DatapathInputError);
    assert.equal(w.apply({ removed: [], added: [] }).updates.length, 0);
    assert.equal(w.size, all.length, 'the failed diff left the state as it was');
  } finally {
    m.close();
  }
});
