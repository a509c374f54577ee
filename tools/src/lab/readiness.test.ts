import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ServiceNotReadyError } from './errors.js';
import { spawnDetached, stopProcess } from './process.js';
import { canConnect, waitReady } from './readiness.js';
import type { ServiceSpec } from './service-spec.js';

const dir = mkdtempSync(join(tmpdir(), 'cts-lab-ready-'));
const pids: number[] = [];
after(async () => {
  for (const pid of pids) await stopProcess(pid, undefined, 200);
  rmSync(dir, { recursive: true, force: true });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const spec = (name: string, port: number, body: string): ServiceSpec => ({
  name,
  role: 'operator',
  argv: [process.execPath, '-e', body],
  logFile: join(dir, `${name}.log`),
  address: `127.0.0.1:${port}`,
  ready: { kind: 'tcp', host: '127.0.0.1', port },
  readyTimeoutSec: 20,
});

test('a daemon that starts listening is ready', async () => {
  const port = await freePort();
  const s = spec('good', port, `setTimeout(() => require('net').createServer().listen(${port}, '127.0.0.1'), 300)`);
  const pid = spawnDetached(s.argv, s.logFile, `r${process.pid}`);
  pids.push(pid);
  await waitReady(s, pid);
  assert.equal(await canConnect({ host: '127.0.0.1', port }), true);
});

test('a daemon that exits first fails with its name, the reason and its last log lines', async () => {
  const port = await freePort();
  const s = spec('bad', port, `console.error('config error: --kvstore-endpoints is required'); process.exit(3)`);
  const pid = spawnDetached(s.argv, s.logFile, `r${process.pid}`);
  pids.push(pid);
  await assert.rejects(waitReady(s, pid), (err: unknown) => {
    assert.ok(err instanceof ServiceNotReadyError);
    assert.equal(err.service, 'bad');
    assert.match(err.reason, /exited/);
    assert.match(err.message, /starting bad failed/);
    assert.match(err.message, /config error: --kvstore-endpoints is required/);
    return true;
  });
});

test('a daemon that never answers fails after the timeout', async () => {
  const port = await freePort();
  const s = spec('silent', port, 'setInterval(() => {}, 1000)');
  const pid = spawnDetached(s.argv, s.logFile, `r${process.pid}`);
  pids.push(pid);
  await assert.rejects(waitReady(s, pid, 1), (err: unknown) => err instanceof ServiceNotReadyError && /not ready after 1s/.test(err.reason));
});
