// Demo pods: a namespace per pod, networked by the CNI plugin, running the demo web server
// or a traffic generator through `ip netns exec`.
import { demoProgram, type LabLayout, webPorts } from './layout.js';
import { cniAdd } from './cni.js';
import { createNetns, deleteNetns, inNetns } from './netns.js';
import { inCgroup } from './pod-cgroup.js';
import { spawnDetached } from './process.js';
import type { PodProcessRecord, PodRecord } from './state-file.js';

/** Creates the pod's namespace and runs CNI ADD (mtu of its veth, 0 = default); returns the pod without processes. */
export async function createPod(layout: LabLayout, node: number, name: string, labels: Record<string, string>, mtu = 0): Promise<PodRecord> {
  const netns = layout.podNetns(node, name);
  await createNetns(netns);
  let ips: { ip: string; ipv6?: string };
  try {
    ips = await cniAdd(layout, node, name, labels, mtu);
  } catch (err) {
    await deleteNetns(netns).catch(() => undefined);
    throw err;
  }
  return { name, node, netns, containerId: layout.podContainerId(node, name), ip: ips.ip, ipv6: ips.ipv6 ?? null, labels, processes: [] };
}

/** The argv of a demo program inside a pod namespace. */
export function demoArgv(netns: string, program: 'http-server' | 'traffic', args: readonly string[]): string[] {
  return inNetns(netns, [process.execPath, demoProgram(program), ...args]);
}

/** Starts a demo program detached in the pod and records it on the pod. */
export function startPodProcess(layout: LabLayout, pod: PodRecord, kind: PodProcessRecord['kind'], args: readonly string[]): PodProcessRecord {
  const logFile = layout.logFile(`${layout.nodeName(pod.node)}-${pod.name}-${kind}`);
  const argv = demoArgv(pod.netns, kind, args);
  const pid = spawnDetached(pod.cgroup ? inCgroup(pod.cgroup, argv) : argv, logFile, layout.name);
  const rec: PodProcessRecord = { kind, pid, logFile, cmdlineMatch: demoProgram(kind) };
  pod.processes.push(rec);
  return rec;
}

/** Starts the web server (ports 80 and 8080) in a web pod. */
export function startWebServer(layout: LabLayout, pod: PodRecord): PodProcessRecord {
  return startPodProcess(layout, pod, 'http-server', ['--ports', webPorts.join(','), '--name', `${layout.nodeName(pod.node)}-${pod.name}`]);
}

/** Starts a traffic generator in pod against target (every second, ports 80 and 8080). */
export function startTraffic(layout: LabLayout, pod: PodRecord, target: string): PodProcessRecord {
  return startPodProcess(layout, pod, 'traffic', [target, '--ports', webPorts.join(','), '--interval', '1000', '--timeout', '800']);
}
