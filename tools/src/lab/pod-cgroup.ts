// The lab's pod cgroups: every process the lab runs in a pod of node i (web server, traffic
// generators, the probes of "check") runs in the cgroup v2 `<root>/cilium-ts/<lab>/n<i>`,
// and node i's agent attaches its socket load balancer there (--cgroup-root). Nothing else
// of the machine is in these cgroups, so nothing on the host is translated.
import { existsSync, mkdirSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cgroup2Root } from '@cilium-ts/bpf/cgroup2';
import type { LabLayout } from './layout.js';
import type { ServiceSpec } from './service-spec.js';

/** The folder under the cgroup v2 root that holds every lab's cgroups. */
export const labCgroupParent = 'cilium-ts';

/** `<cgroup v2 root>/cilium-ts/<lab>`: the parent of the lab's node cgroups. */
export function labCgroupDir(layout: LabLayout, root: string = cgroup2Root()): string {
  return join(root, labCgroupParent, layout.name);
}

/** `<cgroup v2 root>/cilium-ts/<lab>/n<i>`: the cgroup of node i's pod processes. */
export function nodeCgroupDir(layout: LabLayout, i: number, root: string = cgroup2Root()): string {
  return join(labCgroupDir(layout, root), layout.nodeName(i));
}

/** Creates node i's pod cgroup (and its parents); returns its path. */
export function createNodeCgroup(layout: LabLayout, i: number): string {
  const dir = nodeCgroupDir(layout, i);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * argv run in cgroup `dir`: a shell moves itself into the cgroup and then execs argv, so
 * the program and everything it starts are in the cgroup from their first instruction.
 */
export function inCgroup(dir: string, argv: readonly string[]): string[] {
  return ['sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', dir, ...argv];
}

/**
 * The agent spec of node i with its socket load balancer attached to the node's pod cgroup,
 * choosing backends by Maglev (every node picks the same backend for the same flow key).
 */
export function withPodCgroup(spec: ServiceSpec, layout: LabLayout): ServiceSpec {
  if (spec.role !== 'agent' || spec.node === undefined) return spec;
  return { ...spec, argv: [...spec.argv, '--cgroup-root', nodeCgroupDir(layout, spec.node), '--bpf-lb-algorithm', 'maglev'] };
}

/**
 * Removes the lab's cgroups: kills what is still in them (cgroup.kill: only their
 * processes), then removes the node cgroups, the lab's and, when empty, the shared parent.
 * Returns the removed paths; a cgroup that stays busy is reported in `warnings`.
 */
export async function removeLabCgroups(layout: LabLayout, warnings: string[]): Promise<string[]> {
  let root: string;
  try {
    root = cgroup2Root();
  } catch {
    return [];
  }
  const labDir = labCgroupDir(layout, root);
  if (!existsSync(labDir)) return [];
  const removed: string[] = [];
  const children = readdirSync(labDir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => join(labDir, d.name));
  for (const dir of [...children, labDir]) {
    try {
      writeFileSync(join(dir, 'cgroup.kill'), '1');
    } catch {
      // gone already
    }
    let lastErr: Error | undefined;
    for (let k = 0; k < 100; k++) {
      try {
        rmdirSync(dir);
        lastErr = undefined;
        removed.push(dir);
        break;
      } catch (err) {
        lastErr = err as Error;
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          lastErr = undefined;
          break;
        }
        // EBUSY while killed processes exit
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    if (lastErr) warnings.push(`removing cgroup ${dir} failed: ${lastErr.message}`);
  }
  try {
    rmdirSync(join(root, labCgroupParent));
  } catch {
    // another lab uses it
  }
  return removed;
}
