// `lab down`: stop and remove everything of a lab. Idempotent; works from state.json when it
// exists and from the `cts-<name>-` netns prefix, the CTS_LAB process marker and the
// /sys/fs/bpf/cilium-ts/<name>-* pin names when it does not.
import { existsSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cniDel } from './cni.js';
import { listLabContainers, removeContainers } from './container-runtime.js';
import { findEtcdPid, stopEtcd } from './etcd.js';
import { appMain, bpfRoot, demoPods, LabLayout, parseNetnsName, runRoot } from './layout.js';
import { deleteNetns, listNetns } from './netns.js';
import { removeLabCgroups } from './pod-cgroup.js';
import { cmdlineOf, findLabProcesses, isAlive, stopProcess } from './process.js';
import { removeRuntimeWorkloads } from './runtime-workloads.js';
import { stopOrder } from './service-spec.js';
import { type LabState, readState } from './state-file.js';

/** What down removed, for the summary line. */
export interface DownReport {
  processes: number;
  /** podman containers removed (--runtime podman). */
  containers: number;
  cniDeletes: number;
  netns: number;
  pins: number;
  warnings: string[];
}

const roleApps: Record<string, string> = {
  'hubble-ui': 'hubble-ui',
  'hubble-relay': 'hubble-relay',
  'hubble-server': 'hubble-server',
  agent: 'agent',
  proxy: 'proxy',
  operator: 'operator',
};

/** Removes every trace of lab `name`; log receives one line per action. */
export async function labDown(name: string, log: (line: string) => void = () => undefined): Promise<DownReport> {
  const layout = new LabLayout(name);
  const report: DownReport = { processes: 0, containers: 0, cniDeletes: 0, netns: 0, pins: 0, warnings: [] };
  let state: LabState | undefined;
  try {
    state = readState(layout.stateFile);
  } catch (err) {
    report.warnings.push((err as Error).message);
  }
  const stop = async (pid: number | null | undefined, match: string | undefined, what: string): Promise<void> => {
    if (!pid || !isAlive(pid, match)) return;
    const how = await stopProcess(pid, match, 5000);
    if (how !== 'not-running') {
      report.processes++;
      log(`stopped ${what} (pid ${pid}, ${how})`);
    }
  };

  // 1. Traffic generators and web servers: recorded ones, then any marked process in a pod netns.
  for (const pod of state?.pods ?? []) {
    for (const p of pod.processes) await stop(p.pid, p.cmdlineMatch, `${p.kind} in ${pod.netns}`);
  }
  for (const pid of findLabProcesses(name)) {
    const cmd = cmdlineOf(pid) ?? '';
    if (cmd.includes('/tools/dist/demo/')) await stop(pid, '/tools/dist/demo/', `demo process ${cmd.split(' ').at(1) ?? ''}`);
  }

  // 2. Runtime containers (their runtime runs CNI DEL), then CNI DEL for every lab pod
  // (recorded or found by netns name), while the agents still run.
  await removeRuntimeWorkloads(layout, report, log);
  const pods = new Map<string, { node: number; pod: string; labels: Record<string, string> }>();
  for (const p of state?.pods ?? []) if (!p.runtime) pods.set(p.netns, { node: p.node, pod: p.name, labels: p.labels });
  for (const ns of listNetns(layout.netnsPrefix)) {
    const parsed = parseNetnsName(layout, ns);
    if (parsed?.pod && !pods.has(ns)) {
      const labels = demoPods.find((d) => d.name === parsed.pod)?.labels ?? {};
      pods.set(ns, { node: parsed.node, pod: parsed.pod, labels });
    }
  }
  await Promise.all(
    [...pods].map(async ([ns, p]) => {
      if (!existsSync(layout.agentSocket(p.node))) return;
      const err = await cniDel(layout, p.node, p.pod, p.labels);
      if (err) report.warnings.push(`CNI DEL ${ns}: ${err}`);
      else {
        report.cniDeletes++;
        log(`CNI DEL ${ns}`);
      }
    }),
  );

  // 3. Daemons in stop order: relay, hubble-servers, agents, operator, etcd. Containers
  // (--runtime podman) are found by the lab's label, so a failed "up" or a lost state file
  // leaves none behind.
  const containers = await listLabContainers(name);
  const marked = findLabProcesses(name);
  for (const role of stopOrder) {
    const mine = containers.filter((c) => c.role === role);
    if (mine.length > 0) {
      const err = await removeContainers(mine.map((c) => c.id));
      if (err) report.warnings.push(`removing containers ${mine.map((c) => c.name).join(' ')} failed: ${err}`);
      else {
        report.containers += mine.length;
        for (const c of mine) log(`removed container ${c.name} (${c.id.slice(0, 12)})`);
      }
    }
    if (role === 'etcd') {
      const rec = state?.services.find((s) => s.role === 'etcd');
      const pid = rec?.pid ?? findEtcdPid(layout);
      if (pid || existsSync(layout.etcdDataDir)) {
        const wasAlive = isAlive(pid, layout.etcdDataDir);
        await stopEtcd(layout, pid);
        if (wasAlive) {
          report.processes++;
          log(`stopped etcd (pid ${pid})`);
        }
      }
      continue;
    }
    for (const s of state?.services.filter((x) => x.role === role) ?? []) await stop(s.pid, s.cmdlineMatch, s.name);
    const main = appMain(roleApps[role]!);
    for (const pid of marked) if (cmdlineOf(pid)?.includes(main)) await stop(pid, main, `${role} (unrecorded)`);
  }
  // Anything else the lab started (e.g. a CLI that hung).
  for (const pid of findLabProcesses(name)) await stop(pid, undefined, `leftover ${cmdlineOf(pid) ?? ''}`);

  // 4. Namespaces: pods first (longer names), then nodes.
  for (const ns of listNetns(layout.netnsPrefix)) {
    try {
      await deleteNetns(ns);
      report.netns++;
      log(`deleted netns ${ns}`);
    } catch (err) {
      report.warnings.push((err as Error).message);
    }
  }

  // The nodes' pod cgroups (pod-cgroup.ts).
  for (const dir of await removeLabCgroups(layout, report.warnings)) log(`removed cgroup ${dir}`);

  // 5. bpffs pins of this lab's nodes.
  let pinDirs: string[] = [];
  try {
    pinDirs = readdirSync(bpfRoot).filter((d) => d.startsWith(`${name}-`));
  } catch {
    // no pins at all
  }
  for (const d of pinDirs) {
    try {
      rmSync(join(bpfRoot, d), { recursive: true, force: true });
      report.pins++;
      log(`removed pins ${join(bpfRoot, d)}`);
    } catch (err) {
      report.warnings.push(`removing ${join(bpfRoot, d)} failed: ${(err as Error).message}`);
    }
  }

  // 6. The run directory.
  if (existsSync(layout.runDir)) {
    rmSync(layout.runDir, { recursive: true, force: true });
    log(`removed ${layout.runDir}`);
  }

  // 7. The parents every lab shares, once no lab (nor anything else) uses them.
  for (const dir of [runRoot, bpfRoot]) if (removeIfEmpty(dir)) log(`removed ${dir} (empty)`);
  return report;
}

/** Removes dir when it exists and is empty; true if it did. Anything else (entries, gone) leaves it. */
export function removeIfEmpty(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch {
    // ENOENT, ENOTEMPTY (another lab or tool uses it), EBUSY (a mount point): leave it
    return false;
  }
}
