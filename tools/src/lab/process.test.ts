import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { findLabProcesses, isAlive, spawnDetached, stopProcess, tailFile } from './process.js';

const dir = mkdtempSync(join(tmpdir(), 'cts-lab-proc-'));
const lab = `p${process.pid}`;
const started: number[] = [];
after(async () => {
  for (const pid of started) await stopProcess(pid, undefined, 200);
  rmSync(dir, { recursive: true, force: true });
});

const script = (body: string): string[] => [process.execPath, '-e', body, `cts-lab-test-${process.pid}`];

test('a detached process logs to its file, carries the lab marker and stops on SIGTERM', async () => {
  const log = join(dir, 'a.log');
  writeFileSync(log, '', { mode: 0o644 }); // left by an older lab: made private too
  const pid = spawnDetached(script('console.log("hello"); setInterval(() => {}, 1000)'), log, lab);
  started.push(pid);
  for (let k = 0; k < 100 && !readFileSync(log, 'utf8').includes('hello'); k++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(tailFile(log), 'hello');
  assert.ok(isAlive(pid, `cts-lab-test-${process.pid}`));
  assert.equal(isAlive(pid, 'something-else'), false);
  assert.deepEqual(findLabProcesses(lab), [pid]);
  assert.equal((statSync(log).mode & 0o777).toString(8), '600', 'only its owner reads the log');
  assert.equal(await stopProcess(pid, 'something-else'), 'not-running', 'a pid whose command line differs is left alone');
  assert.equal(await stopProcess(pid, `cts-lab-test-${process.pid}`), 'terminated');
  assert.equal(isAlive(pid), false);
  assert.deepEqual(findLabProcesses(lab), []);
});

test('a process ignoring SIGTERM is killed after the timeout', async () => {
  const log = join(dir, 'logs', 'b.log');
  const pid = spawnDetached(script('process.on("SIGTERM", () => console.log("ignored")); console.log("up"); setInterval(() => {}, 1000)'), log, lab);
  started.push(pid);
  for (let k = 0; k < 100 && !readFileSync(log, 'utf8').includes('up'); k++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(await stopProcess(pid, undefined, 300), 'killed');
  assert.equal(isAlive(pid), false);
  assert.match(tailFile(log), /ignored/);
  assert.equal((statSync(join(dir, 'logs')).mode & 0o777).toString(8), '700', 'a new log folder is private');
});

test('stopping a gone pid or no pid does nothing', async () => {
  assert.equal(await stopProcess(null, undefined), 'not-running');
  assert.equal(await stopProcess(2 ** 22 + 1, undefined), 'not-running');
  assert.equal(tailFile(join(dir, 'missing.log')), '');
});
