// A throwaway two-node tunnel lab for the tunnel test and benchmark: node namespaces A
// and B joined by a veth pair (the fabric, MTU 1500, an IPv4 or IPv6 underlay), one pod
// on each (veth MTU 1450, as the lab's tunnel-mode pods), `cilium_vxlan` (external, UDP
// 8472) on each node for our datapath, and for the benchmark a kernel-only baseline beside
// it: a point-to-point VXLAN device `ctsbench0` (VNI 4242, UDP 8473, IPv4 underlay) with a
// /32 route and a permanent neighbour entry for the other node's pod, as tools/lab bench
// wires it.
// While the endpoint programs are attached, from-container encapsulates before any
// routing, so the baseline routes only carry traffic when the programs are detached.
import { spawnSync } from 'node:child_process';
import { sh } from './pod-lab.js';

/** One node of the tunnel lab with its pod. */
export interface TunnelLabNode {
  /** Node namespace name. */
  ns: string;
  /** Fabric veth in the node namespace. */
  fabric: string;
  /** Underlay address on the fabric (IPv4 or IPv6, TunnelLabOptions.underlay). */
  underlay: string;
  /** Router address on the node's lo (the pod's gateway). */
  router: string;
  /** MAC of the node's baseline VXLAN device. */
  baselineMac: string;
  /** The pod: namespace, address, host-side veth. */
  pod: { ns: string; ip: string; host: string };
}

/** The baseline VXLAN device of each node. */
export const BASELINE_VXLAN = { ifname: 'ctsbench0', vni: 4242, port: 8473 } as const;

/** Pod veth MTU (1500 minus the 50 bytes of VXLAN over IPv4). */
export const TUNNEL_POD_MTU = 1450;

/** How TunnelLab.create builds the lab. */
export interface TunnelLabOptions {
  /** Family of the fabric's addresses, the VXLAN underlay (default 4). */
  underlay?: 4 | 6;
  /** The kernel-only baseline VXLAN device and its route (default true; IPv4 underlay only). */
  baseline?: boolean;
  /** Second octet of the lab's IPv4 addresses, 10.<subnet>.x.y (default 204). */
  subnet?: number;
}

/** Two node namespaces, a pod on each, cilium_vxlan (and the baseline VXLAN device). */
export class TunnelLab {
  private constructor(
    /** Nodes by key. */
    readonly nodes: { a: TunnelLabNode; b: TunnelLabNode },
  ) {}

  /** Namespace path of node k (for Datapath specs). */
  netns(k: 'a' | 'b'): string {
    return `/run/netns/${this.nodes[k].ns}`;
  }

  /** Creates the lab with names derived from base (removes leftovers of the same names first). */
  static create(base: string, tag: string, opts: TunnelLabOptions = {}): TunnelLab {
    const { underlay: family = 4, baseline = true, subnet: net = 204 } = opts;
    if (baseline && family !== 4) throw new RangeError('tunnel lab: the baseline VXLAN device needs an IPv4 underlay (pass baseline: false)');
    const node = (k: 'a' | 'b', i: number): TunnelLabNode => ({
      ns: `${base}-n${k}`, fabric: `tf${k}${tag}`, underlay: family === 4 ? `10.${net}.0.${i}` : `fd03:${net}::${i}`, router: `10.${net}.${i}.1`,
      baselineMac: `02:00:00:00:42:0${i}`, pod: { ns: `${base}-${k}`, ip: `10.${net}.${i}.2`, host: `tl${k}${tag}` },
    });
    const lab = new TunnelLab({ a: node('a', 1), b: node('b', 2) });
    lab.destroy();
    try {
      for (const n of Object.values(lab.nodes)) {
        const p = n.pod;
        sh('ip', 'netns', 'add', n.ns);
        sh('ip', '-n', n.ns, 'link', 'set', 'lo', 'up');
        sh('ip', '-n', n.ns, 'addr', 'add', `${n.router}/32`, 'dev', 'lo');
        sh('ip', 'netns', 'exec', n.ns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
        sh('ip', 'netns', 'add', p.ns);
        sh('ip', '-n', n.ns, 'link', 'add', p.host, 'mtu', String(TUNNEL_POD_MTU), 'type', 'veth', 'peer', 'name', 'eth0', 'mtu', String(TUNNEL_POD_MTU), 'netns', p.ns);
        sh('ip', '-n', n.ns, 'link', 'set', p.host, 'up');
        sh('ip', 'netns', 'exec', n.ns, 'sysctl', '-qw', `net.ipv4.conf.${p.host}.proxy_arp=1`, `net.ipv4.neigh.${p.host}.proxy_delay=0`);
        sh('ip', '-n', n.ns, 'route', 'add', `${p.ip}/32`, 'dev', p.host);
        sh('ip', '-n', p.ns, 'link', 'set', 'lo', 'up');
        sh('ip', '-n', p.ns, 'addr', 'add', `${p.ip}/32`, 'dev', 'eth0');
        sh('ip', '-n', p.ns, 'link', 'set', 'eth0', 'up');
        sh('ip', '-n', p.ns, 'route', 'add', n.router, 'dev', 'eth0', 'scope', 'link');
        sh('ip', '-n', p.ns, 'route', 'add', 'default', 'via', n.router);
      }
      const { a, b } = lab.nodes;
      sh('ip', '-n', a.ns, 'link', 'add', a.fabric, 'type', 'veth', 'peer', 'name', b.fabric, 'netns', b.ns);
      for (const [n, other] of [[a, b], [b, a]] as const) {
        if (family === 4) sh('ip', '-n', n.ns, 'addr', 'add', `${n.underlay}/24`, 'dev', n.fabric);
        else {
          sh('ip', 'netns', 'exec', n.ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=0', 'net.ipv6.conf.default.disable_ipv6=0');
          sh('ip', '-n', n.ns, 'addr', 'add', `${n.underlay}/64`, 'dev', n.fabric, 'nodad');
        }
        sh('ip', '-n', n.ns, 'link', 'set', n.fabric, 'up');
        sh('ip', '-n', n.ns, 'link', 'add', 'cilium_vxlan', 'type', 'vxlan', 'external', 'dstport', '8472');
        sh('ip', '-n', n.ns, 'link', 'set', 'cilium_vxlan', 'up');
        if (!baseline) continue;
        const v = BASELINE_VXLAN;
        sh('ip', '-n', n.ns, 'link', 'add', v.ifname, 'type', 'vxlan', 'id', String(v.vni), 'local', n.underlay, 'remote', other.underlay,
          'dstport', String(v.port), 'dev', n.fabric);
        sh('ip', '-n', n.ns, 'link', 'set', v.ifname, 'address', n.baselineMac, 'up');
        sh('ip', '-n', n.ns, 'route', 'replace', `${other.pod.ip}/32`, 'dev', v.ifname);
        sh('ip', '-n', n.ns, 'neigh', 'replace', other.pod.ip, 'lladdr', other.baselineMac, 'dev', v.ifname, 'nud', 'permanent');
      }
    } catch (err) {
      lab.destroy();
      throw err;
    }
    return lab;
  }

  /** Runs argv inside pod k's namespace. */
  exec(k: 'a' | 'b', argv: string[]): string[] {
    return ['ip', 'netns', 'exec', this.nodes[k].pod.ns, ...argv];
  }

  /** Deletes every namespace of the lab (the veths and VXLAN devices go with them). Idempotent. */
  destroy(): void {
    for (const n of Object.values(this.nodes)) {
      for (const ns of [n.ns, n.pod.ns]) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    }
  }
}
