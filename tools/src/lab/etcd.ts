// The lab's etcd: Debian's /usr/bin/etcd on 127.0.0.1 with TLS and client certificates
// (command line from @cilium-ts/kvstore's etcdCommandLine), detached like every other daemon.
import { cmdlineOf, findLabProcesses, spawnDetached, stopProcess } from './process.js';
import type { LabLayout } from './layout.js';
import { waitReady } from './readiness.js';
import { etcdSpec } from './service-spec.js';
import type { ServiceRecord } from './state-file.js';

/** The pid of this lab's etcd (found by its data dir on the command line), if any. */
export function findEtcdPid(layout: LabLayout): number | null {
  for (const pid of findLabProcesses(layout.name)) {
    const cmd = cmdlineOf(pid) ?? '';
    if (/(^|\/)etcd /.test(cmd) && cmd.includes(layout.etcdDataDir)) return pid;
  }
  return null;
}

/** Starts etcd (the lab's certificates must exist) and waits until /health answers; returns its service record. */
export async function startEtcd(layout: LabLayout): Promise<ServiceRecord> {
  const spec = etcdSpec(layout);
  const pid = spawnDetached(spec.argv, spec.logFile, layout.name);
  await waitReady(spec, pid);
  return { name: spec.name, role: spec.role, pid, address: spec.address, logFile: spec.logFile, cmdlineMatch: layout.etcdDataDir };
}

/** Stops etcd by pid (or found by its data dir). */
export async function stopEtcd(layout: LabLayout, pid: number | null): Promise<void> {
  await stopProcess(pid ?? findEtcdPid(layout), layout.etcdDataDir, 10_000);
}
