// The runtime label resolver against a fake `podman` command (a shell script standing in
// for the runtime: it blocks like podman waiting for the container lock, answers
// "no such container", or prints labels); the e2e (tools/src/lab/lab-runtimes.e2e.test.ts)
// runs it against the real podman.
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { containerIdentityLabels, ContainerGoneError, initFailClosed, podmanLabelReader, RuntimeLabelResolver } from './runtime-labels.js';

/** A fake podman: appends its arguments to calls.log, then runs `body` (sh). */
async function fakePodman(t: { after: (fn: () => Promise<void>) => void }, body: string): Promise<{ command: string[]; calls: () => Promise<string[]> }> {
  const dir = await mkdtemp(join(tmpdir(), 'cts-fake-podman-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const script = join(dir, 'podman');
  await writeFile(script, `#!/bin/sh\necho "$*" >> ${dir}/calls.log\nn=$(wc -l < ${dir}/calls.log)\n${body}\n`);
  await chmod(script, 0o755);
  return { command: [script], calls: async () => (await readFile(join(dir, 'calls.log'), 'utf8').catch(() => '')).split('\n').filter((l) => l !== '') };
}

const quiet = { log: () => undefined };
const fast = { initialMs: 1, maxMs: 4, attempts: 4 };

test('podman holding the container lock: the first read is given up, the next gets the labels; the endpoint gets container:<k>=<v>', async (t) => {
  // First call: blocks (as podman inspect does during CNI ADD) until the reader's attempt timeout kills it.
  const fake = await fakePodman(t, `if [ "$n" -eq 1 ]; then exec sleep 30; fi\necho '{"app":"client","io.kubernetes.pod.namespace":"team-a","bad label":"x"}'`);
  const applied: Array<[number, string[]]> = [];
  const warnings: string[] = [];
  const r = new RuntimeLabelResolver({
    readers: { podman: podmanLabelReader(fake.command, 300) },
    apply: async (id, labels) => void applied.push([id, labels]),
    log: (level, msg) => void (level !== 'info' && warnings.push(msg)),
    retry: fast,
  });
  assert.equal(r.handles('podman'), true);
  assert.equal(r.handles('docker'), false);
  assert.equal(r.handles(undefined), false);
  r.resolve({ id: 7, containerId: 'abc123', runtime: 'podman' });
  r.resolve({ id: 7, containerId: 'abc123', runtime: 'podman' }); // already resolving: no second task
  await r.idle();
  assert.deepEqual(applied, [[7, ['container:app=client', 'k8s:io.kubernetes.pod.namespace=team-a']]]);
  assert.deepEqual(await fake.calls(), ['container inspect --format {{json .Config.Labels}} abc123', 'container inspect --format {{json .Config.Labels}} abc123']);
  assert.deepEqual(warnings, ['container labels that cannot be identity labels were left out']);
});

test('a container that exited before its labels were read: no retry, no labels applied', async (t) => {
  const fake = await fakePodman(t, `echo 'Error: no such container abc123' >&2; exit 125`);
  const applied: number[] = [];
  const r = new RuntimeLabelResolver({ readers: { podman: podmanLabelReader(fake.command) }, apply: async (id) => void applied.push(id), ...quiet, retry: fast });
  await assert.rejects(podmanLabelReader(fake.command)('abc123'), ContainerGoneError);
  r.resolve({ id: 1, containerId: 'abc123', runtime: 'podman' });
  await r.idle();
  assert.deepEqual(applied, []);
  assert.equal((await fake.calls()).length, 2, 'one read by the reader above, one by the resolver');
});

test('a runtime that keeps failing: bounded attempts, the endpoint keeps reserved:init; forget stops a resolution', async (t) => {
  const fake = await fakePodman(t, `echo 'Error: database is locked' >&2; exit 125`);
  const errors: string[] = [];
  const applied: number[] = [];
  const r = new RuntimeLabelResolver({ readers: { podman: podmanLabelReader(fake.command) }, apply: async (id) => void applied.push(id), log: (l, m) => void (l === 'error' && errors.push(m)), retry: fast });
  r.resolve({ id: 1, containerId: 'c1', runtime: 'podman' });
  await r.idle();
  assert.equal((await fake.calls()).length, fast.attempts);
  assert.deepEqual(applied, []);
  assert.match(errors.join(), /stays reserved:init/);

  const appliedSlow: number[] = [];
  const slow = new RuntimeLabelResolver({ readers: { podman: podmanLabelReader(fake.command) }, apply: async (id) => void appliedSlow.push(id), ...quiet, retry: { initialMs: 60_000, maxMs: 60_000, attempts: 3 } });
  slow.resolve({ id: 2, containerId: 'c2', runtime: 'podman' });
  while ((await fake.calls()).length < fast.attempts + 1) await new Promise((res) => setTimeout(res, 10));
  slow.forget(2);
  await slow.idle();
  assert.equal((await fake.calls()).length, fast.attempts + 1, 'forgotten during its backoff: no further read');
  assert.deepEqual(appliedSlow, []);
});

test('podman output that is not a label object is an error naming it; null labels are none', async (t) => {
  const bad = await fakePodman(t, `echo '[1,2]'`);
  await assert.rejects(podmanLabelReader(bad.command)('c1'), /reading the labels of podman container c1 failed: unexpected output "\[1,2\]\\n"/);
  const none = await fakePodman(t, `echo null`);
  assert.deepEqual(await podmanLabelReader(none.command)('c1'), {});
});

test('identity labels of runtime labels; reserved:init policy is enforced both ways, other policies untouched', () => {
  assert.deepEqual(containerIdentityLabels({ app: 'web', 'io.kubernetes.pod.namespace': 'default', 'x y': '1', k: 'a b' }), {
    labels: ['container:app=web', 'k8s:io.kubernetes.pod.namespace=default'],
    rejected: ['x y=1', 'k=a b'],
  });
  const open = { ingressEnforced: false, egressEnforced: false, entries: [] };
  assert.deepEqual(initFailClosed(['reserved:init'], open), { ingressEnforced: true, egressEnforced: true, entries: [] });
  assert.equal(initFailClosed(['container:app=web'], open), open);
});
