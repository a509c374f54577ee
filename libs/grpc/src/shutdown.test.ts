import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { agent } from '@cilium-ts/api';
import { memoryLogger } from '@cilium-ts/process/testing';
import { status, type StatusObject } from '@grpc/grpc-js';
import { createClient, unary, waitForReady } from './client.js';
import { onShutdown, runShutdownHooks } from './shutdown.js';
import { tempDir } from './testing/temp-dir.js';

const fixture = fileURLToPath(new URL('./testing/stream-server.js', import.meta.url));
const dir = tempDir('grpc-shutdown');
let child: ChildProcess | undefined;

after(() => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  dir.remove();
});

function waitForLine(proc: ChildProcess, prefix: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString();
      const line = buf.split('\n').find((l) => l.startsWith(prefix));
      if (line) {
        proc.stdout!.off('data', onData);
        resolve(line);
      }
    };
    proc.stdout!.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`fixture exited (${code}) before printing "${prefix}"; stdout: ${buf}`)));
  });
}

test('SIGTERM ends open server streams with OK, runs hooks, removes the socket and exits 0', async () => {
  const socket = join(dir.path, 'run', 'fixture.sock');
  const proc = spawn(process.execPath, [fixture, socket], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: '' } });
  child = proc;
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  let stdout = '';
  proc.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));

  await waitForLine(proc, 'ready');
  assert.ok(existsSync(socket));

  const monitor = createClient(agent.MonitorClient, `unix://${socket}`);
  const daemon = createClient(agent.DaemonClient, socket);
  try {
    await waitForReady(monitor, 5000);
    assert.equal((await unary(daemon, 'status', agent.StatusRequest.create(), { deadline: 5000 })).nodeName, 'fixture');

    const stream = monitor.listen(agent.MonitorRequest.create());
    const events: agent.MonitorEvent[] = [];
    stream.on('data', (e: agent.MonitorEvent) => events.push(e));
    const ended = new Promise<StatusObject>((resolve, reject) => {
      stream.on('status', resolve);
      stream.on('error', reject);
    });
    const endEvent = new Promise<void>((resolve) => stream.on('end', () => resolve()));
    await new Promise<void>((resolve) => stream.once('data', () => resolve()));

    proc.kill('SIGTERM');
    const st = await ended;
    assert.equal(st.code, status.OK, `stream status ${status[st.code]}: ${st.details}`);
    await endEvent;
    assert.equal(events.length, 1);
    assert.equal(events[0]?.lost, 1n);

    const code = await exited;
    assert.equal(code, 0, `exit code; stderr:\n${stderr}`);
    assert.ok(!existsSync(socket), 'socket file removed');
    assert.match(stdout, /shutdown hook ran/);
    const logs = stderr.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(logs.some((l) => l.msg === 'shutting down' && l.signal === 'SIGTERM'));
    assert.ok(logs.some((l) => l.msg === 'shutdown complete' && l.exitCode === 0));
  } finally {
    monitor.close();
    daemon.close();
  }
});

test('shutdown hooks run newest first; a failing hook does not stop the others', async () => {
  const order: string[] = [];
  onShutdown(() => {
    order.push('first');
  });
  onShutdown(() => {
    throw new Error('hook failed');
  });
  const remove = onShutdown(() => {
    order.push('removed');
  });
  onShutdown(async () => {
    order.push('last');
  });
  remove();
  await runShutdownHooks();
  assert.deepEqual(order, ['last', 'first']);
  await runShutdownHooks();
  assert.deepEqual(order, ['last', 'first'], 'hooks run once');
});

test('graceful shutdown lets an in-flight unary call finish; after the timeout it forces', async () => {
  let entered!: () => void;
  const inHandler = new Promise<void>((resolve) => (entered = resolve));
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const stuck = new Promise<never>(() => {});
  const { createServer } = await import('./server.js');
  const s = await createServer({
    component: 'graceful',
    logger: memoryLogger().logger,
    addresses: ['127.0.0.1:0'],
    services: [{
      definition: agent.DaemonService,
      implementation: {
        status: async () => {
          entered();
          await gate;
          return agent.StatusResponse.create({ nodeName: 'drained' });
        },
      },
    }],
  });
  const client = createClient(agent.DaemonClient, s.addresses[0]!);
  try {
    const call = unary(client, 'status', agent.StatusRequest.create(), { deadline: 10_000 });
    await inHandler;
    const stopped = s.shutdown({ timeoutMs: 10_000 });
    release();
    assert.equal((await call).nodeName, 'drained');
    await stopped;
  } finally {
    client.close();
  }

  let reached!: () => void;
  const inStuckHandler = new Promise<void>((resolve) => (reached = resolve));
  const s2 = await createServer({
    component: 'forced',
    logger: memoryLogger().logger,
    addresses: ['127.0.0.1:0'],
    services: [{
      definition: agent.DaemonService,
      implementation: {
        status: async () => {
          reached();
          return stuck;
        },
      },
    }],
  });
  const client2 = createClient(agent.DaemonClient, s2.addresses[0]!);
  try {
    const call = unary(client2, 'status', agent.StatusRequest.create(), { deadline: 10_000 }).then(
      () => assert.fail('a stuck call cannot succeed'),
      (e: { code: number }) => e.code,
    );
    await inStuckHandler;
    await s2.shutdown({ timeoutMs: 100 });
    const code = await call;
    assert.ok([status.UNAVAILABLE, status.CANCELLED, status.INTERNAL].includes(code), `forced call ended with ${status[code]}`);
  } finally {
    client2.close();
  }
});
