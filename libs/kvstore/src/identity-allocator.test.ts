import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KvStore } from './kvstore.js';
import { IdentityAllocator } from './identity-allocator.js';
import { IdentityAllocationError } from './errors.js';
import { startTestEtcd, waitFor, type TestEtcd } from './testing/test-etcd.js';

describe('IdentityAllocator against a real etcd', () => {
  let etcd: TestEtcd;
  const closers: Array<() => unknown> = [];
  const node = async (name: string, prefix: string) => {
    const kv = await KvStore.connect({ endpoints: [etcd.endpoint], prefix });
    const alloc = new IdentityAllocator(kv, name);
    closers.push(() => alloc.close(), () => kv.close());
    return { kv, alloc };
  };

  before(async () => {
    etcd = await startTestEtcd('identity');
  });
  after(async () => {
    for (const c of closers.reverse()) await c();
    await etcd?.stop();
  });

  it('gives identical label sets the same id and distinct sets distinct ids under concurrency', async () => {
    const a = await node('node-a', 'conc');
    const b = await node('node-b', 'conc');
    const sets = Array.from({ length: 50 }, (_, i) => [`k8s:app=app${i}`, `k8s:io.kubernetes.pod.namespace=ns${i % 5}`]);
    // The same 50 sets from both nodes at once, b in reverse order and with labels reordered.
    const [fromA, fromB] = await Promise.all([
      Promise.all(sets.map((s) => a.alloc.allocate(s))),
      Promise.all(sets.map((_, i) => sets[sets.length - 1 - i]).map((s) => b.alloc.allocate([...s].reverse()))).then((r) => r.reverse()),
    ]);
    const idsA = fromA.map((r) => r.id);
    assert.deepEqual(fromB.map((r) => r.id), idsA, 'both nodes agree on every id');
    assert.equal(new Set(idsA).size, 50, 'distinct sets got distinct ids');
    assert.equal(Math.min(...idsA), 256);
    // Ids need not be dense: a node skips the candidates its own concurrent calls hold, and a
    // candidate whose create lost to the other node stays free. No id is lost, though: the
    // next new set takes the lowest free one.
    assert.ok(idsA.every((id) => id >= 256 && id <= 355), `ids stay near the bottom of the range: ${idsA.join(',')}`);
    fromA.forEach((r, i) => assert.equal(r.isNew || fromB[i].isNew, true, `set ${i} was created by exactly one node`));
    fromA.forEach((r, i) => assert.equal(r.isNew && fromB[i].isNew, false, `set ${i} was not created twice`));
    // etcd holds one id key per set and one reference per node and set.
    const idKeys = await a.kv.getPrefix(a.kv.keys.identityIdPrefix());
    assert.equal(idKeys.size, 50);
    const refs = await a.kv.getPrefix(a.kv.keys.identityValuePrefix());
    assert.equal(refs.size, 100);
    await waitFor('watch caches', () => a.alloc.list().size === 50 && b.alloc.list().size === 50);
    assert.deepEqual(b.alloc.lookup(idsA[7]), [...sets[7]].sort());
    assert.equal(a.alloc.lookup(42), undefined);
    const lowestFree = Array.from({ length: 51 }, (_, i) => 256 + i).find((id) => !idsA.includes(id));
    const extra = await a.alloc.allocate(['k8s:app=gap-check']);
    assert.equal(extra.id, lowestFree, 'a new label set gets the lowest free id (gaps are reused)');
    await a.alloc.release(['k8s:app=gap-check']);
  });

  it('counts local references and drops the node reference at zero', async () => {
    const a = await node('node-a', 'rel');
    const b = await node('node-b', 'rel');
    const labels = ['k8s:app=db', 'k8s:io.kubernetes.pod.namespace=prod'];
    const first = await a.alloc.allocate(labels);
    assert.deepEqual(first, { id: 256, isNew: true });
    assert.deepEqual(await a.alloc.allocate([...labels, labels[0]]), { id: 256, isNew: false });
    const ref = a.kv.keys.identityValue('k8s:app=db;k8s:io.kubernetes.pod.namespace=prod', 'node-a');
    assert.equal(await a.kv.get(ref), '256');
    await a.alloc.release(labels);
    assert.equal(await a.kv.get(ref), '256', 'one local reference remains');
    await a.alloc.release(labels);
    assert.equal(await a.kv.get(ref), undefined);
    assert.equal(await a.kv.get(a.kv.keys.identityId(256)), 'k8s:app=db;k8s:io.kubernetes.pod.namespace=prod', 'the id stays until GC');
    // Another node asking for the same labels reuses the unreferenced id.
    await waitFor('b sees the id', () => b.alloc.lookup(256) !== undefined);
    assert.deepEqual(await b.alloc.allocate(labels), { id: 256, isNew: false });
    assert.deepEqual(await b.alloc.allocate(['k8s:app=other']), { id: 257, isNew: true });
    // Watchers hear about deletions (the operator's GC).
    const changes: Array<[number, string[] | undefined]> = [];
    const w = a.alloc.watch((id, l) => changes.push([id, l]));
    await waitFor('a sees 257', () => a.alloc.lookup(257) !== undefined);
    await a.kv.delete(a.kv.keys.identityId(257));
    await waitFor('deletion', () => changes.some(([id, l]) => id === 257 && l === undefined));
    w.close();
  });

  it('rejects an empty label set', async () => {
    const a = await node('node-a', 'empty');
    await assert.rejects(a.alloc.allocate([]), IdentityAllocationError);
    await assert.rejects(a.alloc.allocate(['k8s:=nokey']), IdentityAllocationError);
  });
});
