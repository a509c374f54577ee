// A throwaway lab for tests and benchmarks (not exported from the package): one node
// network namespace and pod namespaces wired to it by veth pairs, as in docs/CONTRACTS.md
// "Nodes in the lab" (proxy_arp and /32 routes on the node side, router on the node's lo).
import { execFileSync, spawnSync } from 'node:child_process';

/** One pod of the lab. */
export interface LabPod { ns: string; ip: string; ip6: string; host: string }

/** Runs argv and throws with its stderr on failure. */
export function sh(...argv: string[]): string {
  return execFileSync(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 64 << 20 });
}

/** The node namespace and its pods. */
export class PodLab {
  /** Path of the node namespace (for Datapath specs and nsenter). */
  readonly nodeNetns: string;

  private constructor(
    /** Name of the node namespace (ip netns). */
    readonly node: string,
    /** Pods by their key. */
    readonly pods: Record<string, LabPod>,
  ) {
    this.nodeNetns = `/run/netns/${node}`;
  }

  /**
   * Creates the node namespace `node` and one pod per entry of pods (IPv4 and IPv6
   * addresses, routes via router / router6). Removes leftovers with the same names first.
   */
  static create(node: string, router: { v4: string; v6: string }, pods: Record<string, LabPod>): PodLab {
    const lab = new PodLab(node, pods);
    lab.destroy();
    try {
      sh('ip', 'netns', 'add', node);
      sh('ip', '-n', node, 'link', 'set', 'lo', 'up');
      sh('ip', '-n', node, 'addr', 'add', `${router.v4}/32`, 'dev', 'lo');
      sh('ip', '-n', node, 'addr', 'add', `${router.v6}/128`, 'dev', 'lo');
      sh('ip', 'netns', 'exec', node, 'sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1');
      for (const p of Object.values(pods)) {
        sh('ip', 'netns', 'add', p.ns);
        sh('ip', 'netns', 'exec', p.ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=0', 'net.ipv6.conf.default.accept_dad=0');
        sh('ip', '-n', node, 'link', 'add', p.host, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', p.ns);
        sh('ip', '-n', node, 'link', 'set', p.host, 'up');
        sh('ip', 'netns', 'exec', node, 'sysctl', '-qw', `net.ipv4.conf.${p.host}.proxy_arp=1`, `net.ipv6.conf.${p.host}.proxy_ndp=1`,
          `net.ipv4.neigh.${p.host}.proxy_delay=0`, `net.ipv6.neigh.${p.host}.proxy_delay=0`);
        sh('ip', '-n', node, 'route', 'add', `${p.ip}/32`, 'dev', p.host);
        sh('ip', '-n', node, 'route', 'add', `${p.ip6}/128`, 'dev', p.host);
        sh('ip', '-n', node, 'neigh', 'add', 'proxy', router.v6, 'dev', p.host);
        sh('ip', '-n', p.ns, 'link', 'set', 'lo', 'up');
        sh('ip', '-n', p.ns, 'addr', 'add', `${p.ip}/32`, 'dev', 'eth0');
        sh('ip', '-n', p.ns, 'addr', 'add', `${p.ip6}/128`, 'dev', 'eth0', 'nodad');
        sh('ip', '-n', p.ns, 'link', 'set', 'eth0', 'up');
        sh('ip', '-n', p.ns, 'route', 'add', router.v4, 'dev', 'eth0', 'scope', 'link');
        sh('ip', '-n', p.ns, 'route', 'add', 'default', 'via', router.v4);
        sh('ip', '-n', p.ns, '-6', 'route', 'add', router.v6, 'dev', 'eth0');
        sh('ip', '-n', p.ns, '-6', 'route', 'add', 'default', 'via', router.v6, 'dev', 'eth0');
      }
    } catch (err) {
      lab.destroy();
      throw err;
    }
    return lab;
  }

  /** Runs argv inside pod key's namespace. */
  exec(pod: string, argv: string[]): string[] {
    return ['ip', 'netns', 'exec', this.pods[pod].ns, ...argv];
  }

  /** Deletes every namespace of the lab (the veths go with them). Idempotent. */
  destroy(): void {
    for (const ns of [this.node, ...Object.values(this.pods).map((p) => p.ns)]) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  }
}
