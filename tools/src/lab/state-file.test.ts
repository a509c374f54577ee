import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { StateFileError } from './errors.js';
import { newState, readState, upsertPod, upsertService, writeState } from './state-file.js';

const dir = mkdtempSync(join(tmpdir(), 'cts-lab-state-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a written state reads back equal, and the write leaves no temporary file', () => {
  const path = join(dir, 'sub', 'state.json');
  const s = newState('lab', '/run/cilium-ts/lab', '127.0.0.1:4245', { policy: false, traffic: true }, new Date('2026-01-02T03:04:05Z'));
  upsertService(s, { name: 'etcd', role: 'etcd', pid: 42, address: '127.0.0.1:2379', logFile: '/l', cmdlineMatch: '/d' });
  upsertService(s, { name: 'etcd', role: 'etcd', pid: 43, address: '127.0.0.1:2379', logFile: '/l', cmdlineMatch: '/d' });
  upsertPod(s, { name: 'web', node: 1, netns: 'cts-lab-n1-web', containerId: 'c', ip: '10.200.1.5', labels: { app: 'web' }, processes: [] });
  writeState(path, s);
  assert.deepEqual(readState(path), s);
  assert.equal(s.services.length, 1);
  assert.equal(s.services[0]!.pid, 43);
  assert.deepEqual(readdirSync(join(dir, 'sub')), ['state.json']);
  assert.equal((statSync(path).mode & 0o777).toString(8), '600', 'only its owner reads the state file');
});

test('a missing state is undefined; a corrupt one is a StateFileError naming the file', () => {
  assert.equal(readState(join(dir, 'nope.json')), undefined);
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '{"version":1,');
  assert.throws(() => readState(bad), (e: unknown) => e instanceof StateFileError && e.path === bad && /not JSON/.test(e.message));
  writeFileSync(bad, '{"version":2,"name":"x"}');
  assert.throws(() => readState(bad), StateFileError);
  writeFileSync(bad, '{"version":1,"name":"x","services":{},"pods":[],"nodes":[]}');
  assert.throws(() => readState(bad), /not a list/);
});
