import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';

const here = dirname(fileURLToPath(import.meta.url));
const children: ReturnType<typeof spawn>[] = [];
after(() => {
  for (const c of children) c.kill('SIGKILL');
});

/** A port that was free a moment ago. */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const probe = (port: number): { status: number | null; out: string } => {
  const r = spawnSync(process.execPath, [join(here, 'probe.js'), '127.0.0.1', String(port), '--timeout', '2000'], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout.trim() };
};

test('the web server answers on every port and the probe reports ok or fail', async () => {
  const [a, b, closed] = [await freePort(), await freePort(), await freePort()];
  const server = spawn(process.execPath, [join(here, 'http-server.js'), '--ports', `${a},${b}`, '--name', 'web'], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(server);
  let log = '';
  server.stdout!.setEncoding('utf8').on('data', (d: string) => (log += d));
  for (let k = 0; k < 200 && (log.match(/listening/g) ?? []).length < 2; k++) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(probe(a), { status: 0, out: `ok 200 web port ${a}` });
  assert.deepEqual(probe(b), { status: 0, out: `ok 200 web port ${b}` });
  const c = probe(closed);
  assert.equal(c.status, 1);
  assert.match(c.out, /^fail .*ECONNREFUSED/);
  for (let k = 0; k < 200 && !log.includes(`GET :${a}/`); k++) await new Promise((r) => setTimeout(r, 20));
  assert.match(log, new RegExp(`GET :${a}/`));
});

test('the traffic generator logs ok for an open port and fail for a closed one', async () => {
  const [open, closed] = [await freePort(), await freePort()];
  const server = spawn(process.execPath, [join(here, 'http-server.js'), '--ports', String(open)], { stdio: 'ignore' });
  children.push(server);
  for (let k = 0; k < 200 && probe(open).status !== 0; k++) await new Promise((r) => setTimeout(r, 20));
  const gen = spawn(process.execPath, [join(here, 'traffic.js'), '127.0.0.1', '--ports', `${open},${closed}`, '--interval', '100', '--timeout', '500'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(gen);
  let log = '';
  gen.stdout!.setEncoding('utf8').on('data', (d: string) => (log += d));
  for (let k = 0; k < 200 && !(log.includes(`:${open}/ ok 200`) && log.includes(`:${closed}/ fail`)); k++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.match(log, new RegExp(`GET http://127\\.0\\.0\\.1:${open}/ ok 200`));
  assert.match(log, new RegExp(`GET http://127\\.0\\.0\\.1:${closed}/ fail`));
});
