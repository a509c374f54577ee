// `lab up --runtimes`: containers of real container runtimes next to the lab's own pods, one
// per node and runtime, recorded as pods (with `runtime`) so that `status` lists them and
// `check` probes from them; `down` removes them through their runtime first (its CNI DEL).
import type { LabLayout } from './layout.js';
import { removePodmanWorkloads, runPodmanWorkload, workloadImage, writePodmanNetworks } from './podman-workloads.js';
import { type LabState, upsertPod } from './state-file.js';

/**
 * The runtime containers of every node: pod name (in the state file and `check`; the
 * container is named cts-<lab>-n<i>-<name>) and labels.
 */
export const runtimeWorkloads: readonly { name: string; runtime: 'podman'; labels: Record<string, string> }[] = [
  { name: 'podman', runtime: 'podman', labels: { app: 'client' } },
];


/** Starts every runtime workload on nodes 1..nodes, recording each in the state as it comes up. */
export async function startRuntimeWorkloads(layout: LabLayout, nodes: number, mtu: number, state: LabState, save: () => void): Promise<void> {
  const image = await workloadImage();
  writePodmanNetworks(layout, nodes, mtu);
  for (let i = 1; i <= nodes; i++) {
    for (const w of runtimeWorkloads) {
      const c = await runPodmanWorkload(layout, i, layout.podNetns(i, w.name), w.labels, image);
      upsertPod(state, { name: w.name, node: i, netns: c.netns, containerId: c.id, ip: c.ip, ipv6: c.ipv6, labels: { ...w.labels }, processes: [], runtime: w.runtime });
      save();
    }
  }
}

/** Removes every runtime workload of the lab (by label); problems become warnings of the report. */
export async function removeRuntimeWorkloads(layout: LabLayout, report: { containers: number; warnings: string[] }, log: (line: string) => void): Promise<void> {
  try {
    const n = await removePodmanWorkloads(layout);
    if (n > 0) {
      report.containers += n;
      log(`removed ${n} podman workload container(s)`);
    }
  } catch (err) {
    report.warnings.push(`removing podman workloads: ${(err as Error).message}`);
  }
}
