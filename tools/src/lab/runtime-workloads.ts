// `lab up --runtimes`: containers of real container runtimes next to the lab's own pods, one
// per node and runtime, recorded as pods (with `runtime`) so that `status` lists them and
// `check` probes from them; `down` removes them through their runtime first (its CNI DEL).
import { join } from 'node:path';
import { type LabLayout, repoRoot } from './layout.js';
import { removeDockerSide, runDockerWorkload, startDockerSide } from './docker-workloads.js';
import { removePodmanWorkloads, runPodmanWorkload, workloadImage, workloadLabel, writePodmanNetworks } from './podman-workloads.js';
import { type LabState, upsertPod } from './state-file.js';

/**
 * The runtime containers of every node: pod name (in the state file and `check`; the
 * container is named cts-<lab>-n<i>-<name>) and labels.
 */
export const runtimeWorkloads: readonly { name: string; runtime: 'podman' | 'docker'; labels: Record<string, string> }[] = [
  { name: 'podman', runtime: 'podman', labels: { app: 'client' } },
  { name: 'docker', runtime: 'docker', labels: { app: 'other' } },
];

/** The policy `up --runtimes` imports after the demo policy: app=other accepts app=client only. */
export const runtimePolicyFile: string = join(repoRoot, 'tools', 'src', 'lab', 'runtime-policy.yaml');

/** Starts every runtime workload on nodes 1..nodes, recording each in the state as it comes up. */
export async function startRuntimeWorkloads(layout: LabLayout, nodes: number, mtu: number, state: LabState, save: () => void): Promise<void> {
  const image = await workloadImage();
  writePodmanNetworks(layout, nodes, mtu);
  const d = await startDockerSide(layout, nodes, image);
  for (let i = 1; i <= nodes; i++) {
    for (const w of runtimeWorkloads) {
      const name = layout.podNetns(i, w.name);
      const c = w.runtime === 'podman' ? await runPodmanWorkload(layout, i, name, w.labels, image) : await runDockerWorkload(layout, d, i, name, w.labels, image, workloadLabel);
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
  try {
    const n = await removeDockerSide(layout, workloadLabel, (w) => report.warnings.push(w));
    if (n > 0) {
      report.containers += n;
      log(`removed ${n} docker workload container(s), the lab's dockerd and its cilium-docker plugins`);
    }
  } catch (err) {
    report.warnings.push(`removing the docker side: ${(err as Error).message}`);
  }
}
