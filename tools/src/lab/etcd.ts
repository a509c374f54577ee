// The lab's etcd: started through the kvstore engineer's `tools/etcd` when it exists,
// otherwise /usr/bin/etcd directly, detached like every other daemon.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CommandFailedError } from './errors.js';
import { run } from './exec.js';
import { etcdWrapper, labEnvVar, type LabLayout } from './layout.js';
import { cmdlineOf, findLabProcesses, spawnDetached, stopProcess } from './process.js';
import { waitReady } from './readiness.js';
import { etcdSpec, etcdWrapperArgv } from './service-spec.js';
import type { ServiceRecord } from './state-file.js';

/** True if tools/etcd exists and is executable by us. */
export function hasEtcdWrapper(): boolean {
  return existsSync(etcdWrapper);
}

/** The pid of this lab's etcd (found by its data dir on the command line), if any. */
export function findEtcdPid(layout: LabLayout): number | null {
  for (const pid of findLabProcesses(layout.name)) {
    const cmd = cmdlineOf(pid) ?? '';
    if (/(^|\/)etcd /.test(cmd) && cmd.includes(layout.etcdDataDir)) return pid;
  }
  return null;
}

/** Where tools/etcd writes etcd's output. */
export function wrapperLogFile(layout: LabLayout): string {
  return join(layout.runDir, 'etcd.log');
}

/** The pid in the status JSON that `tools/etcd start` prints, if any. */
export function wrapperPid(stdout: string): number | null {
  const line = stdout.trim().split('\n').reverse().find((l) => l.startsWith('{'));
  if (!line) return null;
  try {
    const pid = (JSON.parse(line) as { pid?: unknown }).pid;
    return typeof pid === 'number' && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** Starts etcd and waits until /health answers; returns its service record. */
export async function startEtcd(layout: LabLayout): Promise<ServiceRecord & { managedBy: 'tools/etcd' | 'lab' }> {
  const spec = etcdSpec(layout);
  let pid: number | null;
  let managedBy: 'tools/etcd' | 'lab';
  if (hasEtcdWrapper()) {
    managedBy = 'tools/etcd';
    const argv = etcdWrapperArgv(layout, 'start');
    const r = await run(argv, { env: { ...process.env, [labEnvVar]: layout.name }, timeoutMs: 60_000 });
    if (r.code !== 0) throw new CommandFailedError(argv, r.code, r.stderr || r.stdout);
    pid = wrapperPid(r.stdout) ?? findEtcdPid(layout);
    spec.logFile = wrapperLogFile(layout);
  } else {
    managedBy = 'lab';
    pid = spawnDetached(spec.argv, spec.logFile, layout.name);
  }
  await waitReady(spec, pid);
  return {
    name: spec.name,
    role: spec.role,
    pid: pid ?? findEtcdPid(layout),
    address: spec.address,
    logFile: spec.logFile,
    cmdlineMatch: layout.etcdDataDir,
    managedBy,
  };
}

/** Stops etcd: through tools/etcd when it exists (best effort), then by pid. */
export async function stopEtcd(layout: LabLayout, pid: number | null): Promise<void> {
  if (hasEtcdWrapper() && existsSync(layout.runDir)) {
    await run(etcdWrapperArgv(layout, 'stop'), { timeoutMs: 30_000 });
  }
  await stopProcess(pid ?? findEtcdPid(layout), layout.etcdDataDir, 10_000);
}
