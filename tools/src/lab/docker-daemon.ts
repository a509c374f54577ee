// A private Docker daemon (Debian's docker.io 20.10, started by hand: this kind of machine
// has no systemd) for the lab's Docker workloads and the tests. It never touches the
// machine's firewall, bridges or sysctls (--iptables=false --ip6tables=false --bridge=none
// --ip-forward=false --ip-masq=false), keeps all its state under one directory (data root,
// exec root, socket, its managed containerd) and is stopped and removed with it. It runs
// with --live-restore: a restarted daemon (restartDockerd) finds its containers still
// running, their networks and endpoints as it left them.
// /usr/local/bin/docker on such a machine is a docker 28 client without a daemon: the
// Debian client /usr/bin/docker is always called by its path.
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CommandFailedError, LabPreconditionError } from './errors.js';
import { run, type RunResult } from './exec.js';
import { cmdlineOf, isAlive, spawnDetached, stopProcess } from './process.js';

/** Debian's Docker client and daemon. */
export const dockerBin = '/usr/bin/docker';
const dockerdBin = '/usr/sbin/dockerd';

/** Installs Debian's docker.io when its daemon is missing (services are not started: policy-rc.d). */
export async function ensureDockerInstalled(): Promise<void> {
  if (existsSync(dockerdBin) && existsSync(dockerBin)) return;
  process.stderr.write('  installing Debian package docker.io (its daemon is started by the lab, never as a service)\n');
  // A package's maintainer scripts must not start a system dockerd (firewall rules, docker0):
  // policy-rc.d answering 101 forbids it (Debian's container images ship one).
  const policy = '/usr/sbin/policy-rc.d';
  const ownPolicy = !existsSync(policy);
  if (ownPolicy) await run(['sh', '-c', `printf '#!/bin/sh\\nexit 101\\n' > ${policy} && chmod 755 ${policy}`]);
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const upd = await run(['apt-get', 'update', '-q'], { env, timeoutMs: 600_000 });
    if (upd.code !== 0) throw new CommandFailedError(['apt-get', 'update'], upd.code, upd.stderr);
    const argv = ['apt-get', 'install', '-y', '-q', '--no-install-recommends', 'docker.io'];
    const r = await run(argv, { env, timeoutMs: 900_000 });
    if (r.code !== 0) throw new CommandFailedError(argv, r.code, r.stderr || r.stdout);
  } finally {
    if (ownPolicy) rmSync(policy, { force: true });
  }
}

/** A running private dockerd. */
export interface DockerDaemon {
  /** Everything of it lives here. */
  dir: string;
  /** unix socket path of its API. */
  socket: string;
  pid: number;
  logFile: string;
}

/** The paths of a private dockerd rooted at dir. */
export function dockerdPaths(dir: string): { socket: string; dataRoot: string; execRoot: string; pidFile: string; logFile: string } {
  return { socket: join(dir, 'docker.sock'), dataRoot: join(dir, 'data'), execRoot: join(dir, 'exec'), pidFile: join(dir, 'docker.pid'), logFile: join(dir, 'dockerd.log') };
}

/** Runs Debian's docker client against daemon d. */
export function docker(d: Pick<DockerDaemon, 'socket'>, args: readonly string[], timeoutMs = 120_000, input?: string): Promise<RunResult> {
  return run([dockerBin, '-H', `unix://${d.socket}`, ...args], { timeoutMs, ...(input === undefined ? {} : { input }) });
}

/** Starts a private dockerd in dir (created), marked with the lab's CTS_LAB; resolves once its API answers. */
export async function startDockerd(dir: string, labName: string): Promise<DockerDaemon> {
  await ensureDockerInstalled();
  const p = dockerdPaths(dir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const argv = [
    dockerdBin, '--live-restore', '--iptables=false', '--ip6tables=false', '--bridge=none', '--ip-forward=false', '--ip-masq=false', '--userland-proxy=false',
    '--data-root', p.dataRoot, '--exec-root', p.execRoot, '--pidfile', p.pidFile, '-H', `unix://${p.socket}`, '--storage-driver', 'vfs',
  ];
  const pid = spawnDetached(argv, p.logFile, labName);
  const d: DockerDaemon = { dir, socket: p.socket, pid, logFile: p.logFile };
  for (let k = 0; k < 600; k++) {
    if (!isAlive(pid)) break;
    if (existsSync(p.socket) && (await docker(d, ['version', '--format', '{{.Server.Version}}'], 10_000)).code === 0) return d;
    await new Promise((r) => setTimeout(r, 100));
  }
  await stopDockerd(d);
  throw new LabPreconditionError('dockerd', `did not answer on ${p.socket}${isAlive(pid) ? '' : ' (it exited)'}`, `see ${p.logFile}`);
}

/**
 * Stops dockerd d and starts it again on the same state; resolves with the new daemon once it
 * answers. Live restore keeps its containers running and their endpoints attached.
 */
export async function restartDockerd(d: Pick<DockerDaemon, 'dir' | 'pid'>, labName: string): Promise<DockerDaemon> {
  await stopProcess(d.pid, dockerdBin, 15_000);
  return startDockerd(d.dir, labName);
}

/**
 * Stops dockerd d and removes its directory: first its containers (live restore would keep
 * them running without it), then the daemon (SIGTERM, then SIGKILL), then what a killed
 * daemon leaves: runc containers and their shims, mounts.
 */
export async function stopDockerd(d: Pick<DockerDaemon, 'dir' | 'pid'>): Promise<void> {
  const p = dockerdPaths(d.dir);
  if (isAlive(d.pid) && existsSync(p.socket)) {
    const ids = (await docker(p, ['ps', '-aq'], 30_000)).stdout.split('\n').filter((l) => l.trim() !== '');
    if (ids.length > 0) await docker(p, ['rm', '-f', ...ids], 60_000);
  }
  if (isAlive(d.pid)) await stopProcess(d.pid, dockerdBin, 15_000);
  const runcRoot = join(p.execRoot, 'runtime-runc', 'moby');
  if (existsSync(runcRoot)) {
    for (const id of (await run(['runc', '--root', runcRoot, 'list', '-q'])).stdout.split('\n').filter((l) => l.trim() !== '')) {
      await run(['runc', '--root', runcRoot, 'delete', '-f', id]);
    }
  }
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (Number.isInteger(pid) && cmdlineOf(pid)?.includes(`${d.dir}/`)) await stopProcess(pid, `${d.dir}/`, 5000);
  }
  // Mounts a killed daemon leaves (its exec root's netns files, shm): deepest first.
  const mounts = await run(['findmnt', '-rn', '-o', 'TARGET']);
  const under = mounts.stdout.split('\n').filter((m) => m.startsWith(`${d.dir}/`)).sort((a, b) => b.length - a.length);
  for (const m of under) await run(['umount', '-l', m]);
  rmSync(d.dir, { recursive: true, force: true });
}
