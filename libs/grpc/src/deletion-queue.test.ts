// The endpoint deletion queue on a real directory: atomic entries, drain in order, a failed
// deletion kept for the next drain, invalid entries removed, and an entry written while the
// agent follows the queue carried out without a restart.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { deletionQueueDir, drainDeletionQueue, enqueueDeletion, followDeletionQueue, type DeletionRequest } from './deletion-queue.js';

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cts-delq-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('the queue of an agent is beside its unix socket; a TCP agent has none', () => {
  assert.equal(deletionQueueDir('unix:///run/cilium-ts/agent.sock'), '/run/cilium-ts/delete-queue');
  assert.equal(deletionQueueDir('/run/x/agent.sock'), '/run/x/delete-queue');
  assert.equal(deletionQueueDir('127.0.0.1:4240'), undefined);
});

test('enqueue, then drain: every entry handled once in name order; a failed one stays, an invalid one is removed', async (t) => {
  const dir = await tempDir(t);
  assert.equal(await enqueueDeletion(join(dir, 'absent'), 'c1', 'test'), undefined, 'no directory: no agent ever ran there');
  await assert.rejects(enqueueDeletion(dir, '../etc', 'test'), /container id must be/);
  await enqueueDeletion(dir, 'c2', 'cilium-cni');
  await enqueueDeletion(dir, 'c1', 'cilium-cni');
  await enqueueDeletion(dir, 'bad', 'cilium-cni');
  await writeFile(join(dir, 'junk.delete'), '{not json');
  await writeFile(join(dir, '.c9.tmp-1'), '{"containerId":"c9"}'); // a writer's temporary file: not an entry
  assert.deepEqual((await readdir(dir)).sort(), ['.c9.tmp-1', 'bad.delete', 'c1.delete', 'c2.delete', 'junk.delete']);
  const seen: DeletionRequest[] = [];
  const r = await drainDeletionQueue(dir, async (req) => {
    if (req.containerId === 'bad') throw new Error('agent said no');
    seen.push(req);
  });
  assert.deepEqual(seen.map((s) => [s.containerId, s.origin]), [['c1', 'cilium-cni'], ['c2', 'cilium-cni']]);
  assert.deepEqual(r.done, ['c1', 'c2']);
  assert.deepEqual(r.failed.map((f) => [f.containerId, f.error.message]), [['bad', 'agent said no']]);
  assert.match(r.invalid.map((e) => e.message).join(), /junk\.delete: not JSON/);
  assert.deepEqual((await readdir(dir)).sort(), ['.c9.tmp-1', 'bad.delete']);
  assert.deepEqual((await drainDeletionQueue(dir, async () => undefined)).done, ['bad'], 'the failed one is retried by the next drain');
  assert.deepEqual(await drainDeletionQueue(join(dir, 'absent'), async () => undefined), { done: [], failed: [], invalid: [] });
});

test('followed: drained at once, and an entry written later is carried out without a restart', async (t) => {
  const dir = join(await tempDir(t), 'delete-queue');
  const done: string[] = [];
  let wake: () => void = () => undefined;
  const q = await followDeletionQueue(dir, async (req) => void done.push(req.containerId), (r) => {
    if (r.done.length > 0) wake();
  });
  t.after(() => q.close());
  assert.deepEqual((await q.drained).done, [], 'the directory is created and empty');
  const later = new Promise<void>((res) => (wake = res));
  await enqueueDeletion(dir, 'c3', 'cilium-docker');
  await later;
  assert.deepEqual(done, ['c3']);
  assert.deepEqual(await readdir(dir), []);
});
