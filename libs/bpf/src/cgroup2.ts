// Where the cgroup v2 hierarchy is mounted, for socket load balancing (cgroup BPF programs
// attach to cgroup v2 directories only). Machines differ: a pure cgroup v2 system has it at
// /sys/fs/cgroup, a hybrid one (this development machine) at /sys/fs/cgroup/unified, and a
// container may have none mounted at all.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';

/** Where cgroup2Root mounts a cgroup v2 hierarchy when none is mounted. */
export const CGROUP2_FALLBACK_MOUNT = '/run/cilium-ts/cgroup2';

/** The mount points of cgroup v2 in a /proc/self/mounts text (octal escapes such as `\040` decoded). */
export function cgroup2Mounts(mounts: string): string[] {
  return mounts
    .split('\n')
    .map((line) => line.split(' '))
    .filter((f) => f[2] === 'cgroup2' && f[1] !== undefined)
    .map((f) => f[1]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
}

/**
 * cgroup2Root returns a cgroup v2 mount point: the first one this process sees, or, when
 * there is none (and `mount` is allowed, e.g. as root), a new mount at `fallback`.
 */
export function cgroup2Root(fallback: string = CGROUP2_FALLBACK_MOUNT): string {
  const found = cgroup2Mounts(readFileSync('/proc/self/mounts', 'utf8'))[0];
  if (found !== undefined) return found;
  mkdirSync(fallback, { recursive: true });
  execFileSync('mount', ['-t', 'cgroup2', 'none', fallback], { stdio: ['ignore', 'ignore', 'pipe'] });
  return fallback;
}
