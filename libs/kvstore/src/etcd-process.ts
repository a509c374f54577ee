// Runs Debian's etcd server as a child process bound to 127.0.0.1: for tests, the lab
// and tools/etcd. Production deployments point --kvstore-endpoints at their own etcd.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { EtcdProcessError } from './errors.js';
import type { KvStoreTls } from './kvstore-tls.js';

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
  /** Serve clients and peers over TLS and require their certificates (see EtcdTls). */
  tls?: EtcdTls;
}

/**
 * TLS of an etcd server, as Cilium's etcd deployments run it: https:// client and peer
 * URLs, and every client and peer must present a certificate that `caFile` signed
 * (--client-cert-auth, --peer-client-cert-auth).
 */
export interface EtcdTlsFiles {
  /** CA bundle that signed the client and peer certificates etcd accepts. */
  caFile: string;
  /** etcd's certificate (SAN 127.0.0.1; serverAuth and clientAuth, as it is also the peer certificate) and key. */
  certFile: string;
  keyFile: string;
}

/** EtcdTlsFiles plus what startEtcd's /health probe presents (it needs a client certificate too). */
export interface EtcdTls extends EtcdTlsFiles {
  probe: KvStoreTls;
}

/** The command-line arguments of an etcd on 127.0.0.1 (without the binary) and its client URL. */
export function etcdCommandLine(
  opts: Pick<StartEtcdOptions, 'name' | 'dataDir' | 'clientPort' | 'peerPort'> & { tls?: EtcdTlsFiles },
): { args: string[]; endpoint: string } {
  const name = opts.name ?? 'cilium-ts';
  const scheme = opts.tls ? 'https' : 'http';
  const client = `${scheme}://127.0.0.1:${opts.clientPort}`;
  const peer = `${scheme}://127.0.0.1:${opts.peerPort}`;
  const tls = opts.tls
    ? [
        '--cert-file', opts.tls.certFile, '--key-file', opts.tls.keyFile,
        '--trusted-ca-file', opts.tls.caFile, '--client-cert-auth',
        '--peer-cert-file', opts.tls.certFile, '--peer-key-file', opts.tls.keyFile,
        '--peer-trusted-ca-file', opts.tls.caFile, '--peer-client-cert-auth',
      ]
    : [];
  const args = [
    '--name', name,
    '--data-dir', opts.dataDir,
    '--listen-client-urls', client,
    '--advertise-client-urls', client,
    '--listen-peer-urls', peer,
    '--initial-advertise-peer-urls', peer,
    '--initial-cluster', `${name}=${peer}`,
    '--initial-cluster-state', 'new',
    ...tls,
    '--logger', 'zap',
    '--log-outputs', 'stderr',
  ];
  return { args, endpoint: client };
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

/** Asks etcd's /health endpoint (over TLS with `tls`'s CA and client certificate); true when it reports healthy. */
export async function etcdHealthy(endpoint: string, timeoutMs = 1000, tls?: KvStoreTls): Promise<boolean> {
  const url = new URL('/health', endpoint);
  return new Promise((resolve) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { timeout: timeoutMs, ...(tls ?? {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        try {
          resolve(res.statusCode === 200 && (JSON.parse(body) as { health?: string }).health === 'true');
        } catch {
          resolve(false);
        }
      });
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** Spawns /usr/bin/etcd on 127.0.0.1 and resolves once it answers /health. */
export async function startEtcd(opts: StartEtcdOptions): Promise<EtcdServer> {
  if (!existsSync(EtcdBinary)) {
    throw new EtcdProcessError('start', `${EtcdBinary} not found; install it with "apt-get install etcd-server"`);
  }
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const { args, endpoint: client } = etcdCommandLine(opts);
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
    if (await etcdHealthy(client, 1000, opts.tls?.probe)) return { endpoint: client, pid: child.pid ?? -1, stop };
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new EtcdProcessError('start', `etcd did not become healthy on ${client} within ${opts.readyTimeoutMs ?? 20_000} ms`);
}
