// Readiness probes: poll until a daemon answers, fails, or the timeout passes.
import { existsSync, readFileSync } from 'node:fs';
import { etcdHealthy } from '@cilium-ts/kvstore';
import { connect } from 'node:net';
import { ServiceNotReadyError } from './errors.js';
import { run } from './exec.js';
import { ciliumArgv } from './cilium-cli.js';
import { isAlive, tailFile } from './process.js';
import type { ReadyProbe, ServiceSpec } from './service-spec.js';

/** Result of one probe attempt: ready, or why not. */
export type ProbeResult = { ready: true } | { ready: false; why: string };

/** True if a stream connection to a TCP port or unix socket is accepted within timeoutMs. */
export function canConnect(target: { host: string; port: number } | { path: string }, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(target as never);
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/** The agent's `state` from `cilium status -o json`, or an explanation. */
export async function agentStatus(socket: string): Promise<ProbeResult & { state?: string }> {
  const r = await run(ciliumArgv(socket, 'status', '-o', 'json'), {
    timeoutMs: 5000,
  });
  if (r.code !== 0) return { ready: false, why: `cilium status exited ${r.code}: ${(r.stderr || r.stdout).trim().split('\n').at(-1) ?? ''}` };
  try {
    const status = JSON.parse(r.stdout) as { state?: unknown };
    const state = String(status.state ?? '');
    if (state.toLowerCase() === 'ok') return { ready: true, state };
    return { ready: false, why: `cilium status says state "${state}"`, state };
  } catch {
    return { ready: false, why: `cilium status printed no JSON: ${r.stdout.slice(0, 200)}` };
  }
}

/** Runs one probe attempt. */
export async function probeOnce(probe: ReadyProbe): Promise<ProbeResult> {
  switch (probe.kind) {
    case 'http':
      try {
        const res = await fetch(probe.url, { signal: AbortSignal.timeout(1000) });
        await res.text();
        return res.ok ? { ready: true } : { ready: false, why: `GET ${probe.url} answered ${res.status}` };
      } catch (err) {
        return { ready: false, why: `GET ${probe.url} failed: ${(err as Error).message}` };
      }
    case 'etcd': {
      const tls = { ca: readFileSync(probe.caFile), cert: readFileSync(probe.certFile), key: readFileSync(probe.keyFile) };
      return (await etcdHealthy(probe.endpoint, 1000, tls))
        ? { ready: true }
        : { ready: false, why: `GET ${probe.endpoint}/health with the lab's client certificate did not report healthy` };
    }
    case 'tcp':
      return (await canConnect({ host: probe.host, port: probe.port }))
        ? { ready: true }
        : { ready: false, why: `nothing accepts connections on ${probe.host}:${probe.port}` };
    case 'unix':
      if (!existsSync(probe.path)) return { ready: false, why: `socket ${probe.path} does not exist` };
      return (await canConnect({ path: probe.path }))
        ? { ready: true }
        : { ready: false, why: `socket ${probe.path} refuses connections` };
    case 'agent-status':
      if (!existsSync(probe.socket)) return { ready: false, why: `socket ${probe.socket} does not exist` };
      return agentStatus(probe.socket);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until spec's probe succeeds. Throws ServiceNotReadyError (with the log tail) when
 * the process exits first or the timeout passes. pid null: the process is not ours to watch.
 */
export async function waitReady(spec: ServiceSpec, pid: number | null, timeoutSec = spec.readyTimeoutSec): Promise<void> {
  const deadline = Date.now() + timeoutSec * 1000;
  let last: ProbeResult = { ready: false, why: 'not probed yet' };
  for (;;) {
    last = await probeOnce(spec.ready);
    if (last.ready) return;
    if (pid !== null && !isAlive(pid)) {
      throw new ServiceNotReadyError(spec.name, `the process (pid ${pid}) exited; last probe: ${last.why}`, spec.logFile, tailFile(spec.logFile));
    }
    if (Date.now() >= deadline) {
      throw new ServiceNotReadyError(spec.name, `not ready after ${timeoutSec}s: ${last.why}`, spec.logFile, tailFile(spec.logFile));
    }
    await sleep(250);
  }
}
