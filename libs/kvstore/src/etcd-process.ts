// Runs Debian's etcd server as a child process bound to 127.0.0.1: for tests, the lab
// and tools/etcd. Production deployments point --kvstore-endpoints at their own etcd.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync } from 'node:fs';
import { createServer } from 'node:net';
import { EtcdProcessError } from './errors.js';

/** Path of Debian's etcd server binary (package etcd-server). */
export const EtcdBinary = '/usr/bin/etcd';

/** Options of startEtcd. */
export interface StartEtcdOptions {
  /** Data directory (created if missing). */
  dataDir: string;
  /** Client port on 127.0.0.1. */
  clientPort: number;
  /** Peer port on 127.0.0.1. */
  peerPort: number;
  /** Member name (default "cilium-ts"). */
  name?: string;
  /** File that receives etcd's output (default: discarded). */
  log?: string;
  /** How long to wait for etcd to answer /health (default 20 s). */
  readyTimeoutMs?: number;
}

/** A running etcd server. */
export interface EtcdServer {
  /** Client URL, e.g. http://127.0.0.1:2379. */
  endpoint: string;
  pid: number;
  /** Sends SIGTERM and waits for the process to exit (SIGKILL after 10 s). */
  stop(): Promise<void>;
}

/** Returns a TCP port on 127.0.0.1 that was free a moment ago. */
export async function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Asks etcd's /health endpoint; true when it reports healthy. */
export async function etcdHealthy(endpoint: string, timeoutMs = 1000): Promise<boolean> {
  try {
    const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.json()) as { health?: string };
    return res.ok && body.health === 'true';
  } catch {
    return false;
  }
}

/** Spawns /usr/bin/etcd on 127.0.0.1 and resolves once it answers /health. */
export async function startEtcd(opts: StartEtcdOptions): Promise<EtcdServer> {
  if (!existsSync(EtcdBinary)) {
    throw new EtcdProcessError('start', `${EtcdBinary} not found; install it with "apt-get install etcd-server"`);
  }
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const name = opts.name ?? 'cilium-ts';
  const client = `http://127.0.0.1:${opts.clientPort}`;
  const peer = `http://127.0.0.1:${opts.peerPort}`;
  const args = [
    '--name', name,
    '--data-dir', opts.dataDir,
    '--listen-client-urls', client,
    '--advertise-client-urls', client,
    '--listen-peer-urls', peer,
    '--initial-advertise-peer-urls', peer,
    '--initial-cluster', `${name}=${peer}`,
    '--initial-cluster-state', 'new',
    '--logger', 'zap',
    '--log-outputs', 'stderr',
  ];
  const logFd = opts.log ? openSync(opts.log, 'a') : undefined;
  const child = spawn(EtcdBinary, args, {
    stdio: ['ignore', logFd ?? 'ignore', logFd ?? 'ignore'],
  });
  if (logFd !== undefined) closeSync(logFd);
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    });
  });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  let failure: Error | undefined;
  void spawnError.then((e) => (failure = e));

  const stop = async (): Promise<void> => {
    if (exited) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exitPromise;
    clearTimeout(killer);
  };

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 20_000);
  while (Date.now() < deadline) {
    if (failure) throw new EtcdProcessError('start', `spawn ${EtcdBinary}: ${failure.message}`, { cause: failure });
    if (exited) {
      throw new EtcdProcessError(
        'start',
        `etcd exited (code ${exited.code}, signal ${exited.signal}) before answering on ${client}; ` +
          `is port ${opts.clientPort} or ${opts.peerPort} in use?${opts.log ? ` See ${opts.log}` : ''}`,
      );
    }
    if (await etcdHealthy(client)) return { endpoint: client, pid: child.pid ?? -1, stop };
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new EtcdProcessError('start', `etcd did not become healthy on ${client} within ${opts.readyTimeoutMs ?? 20_000} ms`);
}
