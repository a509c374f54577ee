/**
 * Routing between nodes.
 *
 * Native routing: for every other node of the cluster that has an IPv4 address and a pod
 * CIDR, a route `<pod CIDR> via <node ip>` in the node namespace (and, for dual-stack
 * nodes, `<IPv6 pod CIDR> via <node IPv6>`), so packets leaving a pod toward a remote pod
 * go straight to the node hosting it. The destination node's to-container program
 * resolves the source identity through its ipcache (synced from the kvstore) and
 * enforces the ingress policy.
 *
 * Tunnel mode: pod traffic needs no routes (from-container encapsulates it in VXLAN with
 * the pod's identity as VNI); the native routes are removed. Traffic the node itself
 * sends (ping, health checks) rides the kernel's own VXLAN encapsulation instead: per
 * remote node and family, a route `<pod CIDR> dev cilium_vxlan encap ip id 6 dst <node
 * ip> src <our router>` (`encap ip6 ... dst <node IPv6>` over an IPv6 underlay, see
 * underlay-protocol.ts) in table 193, which only locally generated packets consult (rule
 * `iif lo lookup 193`, so a pod can never send with the remote-node identity 6 as VNI),
 * and a route to the remote router address (cilium_host) in the main table for the
 * replies of remote pods. The receiving node's from-overlay program delivers them like
 * pod traffic, with identity remote-node.
 *
 * Routes carry their own protocol number, so the agent recognises its routes after a
 * restart and removes those of nodes that went away meanwhile.
 */
import { ReservedIdentity } from '@cilium-ts/policy';
import { Ipv4Allocator } from './ipam.js';
import { Ipv6Allocator } from './ipam-v6.js';
import type { NodeNetns } from './netns.js';
import { tunnelMtu, underlayAddress, type UnderlayProtocol } from './underlay-protocol.js';

/** Routing protocol number of the routes this agent installs (`ip route ... proto 193`). */
export const ROUTE_PROTO = 193;

/** Tunnel mode: routing table of the node's own traffic to other nodes' pods (consulted for `iif lo` only). */
export const HOST_TUNNEL_TABLE = 193;

/** Tunnel mode: priority of the rule `iif lo lookup 193` (before the main table's 32766). */
export const HOST_TUNNEL_RULE_PREF = 193;

/** Tunnel mode: the device the node's own traffic to other nodes' pods leaves by. */
const TUNNEL_DEV = 'cilium_vxlan';

/** How pod traffic crosses nodes. */
export type RoutingMode = 'native' | 'tunnel';

/** The routing modes this agent implements. */
export const SUPPORTED_ROUTING_MODES: readonly RoutingMode[] = ['native', 'tunnel'];

/** A routing mode was asked for that this agent cannot provide. */
export class RoutingModeError extends Error {
  constructor(
    readonly mode: string,
    reason: string,
  ) {
    super(`--routing-mode ${mode}: ${reason}`);
    this.name = 'RoutingModeError';
  }
}

/** Checks a --routing-mode value; throws RoutingModeError naming what to use instead. */
export function parseRoutingMode(mode: string): RoutingMode {
  if (mode === 'native' || mode === 'tunnel') return mode;
  throw new RoutingModeError(mode, 'is not one of native, tunnel');
}

/** A remote node as the route manager needs it. */
export interface RemoteNode {
  name: string;
  ipv4?: string;
  podCIDR?: string;
  ipv6?: string;
  podCIDRv6?: string;
}

/** One remote node's pod CIDR of one family, as routed now. */
export interface NodeRoute {
  node: string;
  podCIDR: string;
  /** Native: the next hop (the node's address of the family). Tunnel: the node's underlay address (the VXLAN remote end). */
  via: string;
  /** Address family of the route. */
  family: 4 | 6;
}

/** A kernel route of ours: destination and table. */
interface KernelRoute {
  dst: string;
  table: 'main' | typeof HOST_TUNNEL_TABLE;
}

/** Log sink of the route manager. */
export type RouteLog = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

/** The router address (cilium_host) of a pod CIDR: its first address after the base. */
export function routerOf(podCIDR: string): string {
  return podCIDR.includes(':') ? new Ipv6Allocator(podCIDR).router : new Ipv4Allocator(podCIDR).router;
}

/** Installs and removes the routes toward other nodes' pod CIDRs; every change is serialised. */
export class NodeRoutes {
  private readonly routes = new Map<string, NodeRoute>();
  private queue: Promise<unknown> = Promise.resolve();
  private readonly own: Set<string>;
  /** Our router address per family: the source of the node's own traffic through the tunnel. */
  private readonly ownRouter: { 4?: string; 6?: string } = {};
  private readonly rulesReady = new Set<4 | 6>();

  constructor(
    private readonly ns: NodeNetns,
    /** This node's name (its own registration is ignored). */
    private readonly self: string,
    /** This node's pod CIDRs, IPv4 and IPv6 (never routed elsewhere). */
    ownPodCidrs: string | readonly string[],
    private readonly log: RouteLog,
    /** tunnel: only the node's own traffic is routed, through cilium_vxlan (native routes of an earlier run are removed). */
    private readonly mode: RoutingMode = 'native',
    /** tunnel: the family of the VXLAN outer header, so which of a node's addresses is the remote end. */
    private readonly underlay: UnderlayProtocol = 'ipv4',
  ) {
    this.own = new Set(typeof ownPodCidrs === 'string' ? [ownPodCidrs] : ownPodCidrs);
    for (const cidr of this.own) this.ownRouter[cidr.includes(':') ? 6 : 4] = routerOf(cidr);
  }

  /** Remote pod CIDRs routed now, by node name (IPv4 before IPv6). */
  list(): NodeRoute[] {
    return [...this.routes.values()].sort((a, b) => a.node.localeCompare(b.node) || a.family - b.family);
  }

  /** A node appeared or changed: installs, moves or removes its routes (per family). */
  upsert(node: RemoteNode): Promise<void> {
    return this.serial(async () => {
      if (node.name === this.self) return;
      if (this.mode === 'tunnel') {
        const remote = underlayAddress(this.underlay, node);
        await this.reconcile(node.name, 4, remote, node.podCIDR);
        await this.reconcile(node.name, 6, remote, node.podCIDRv6);
      } else {
        await this.reconcile(node.name, 4, node.ipv4, node.podCIDR);
        await this.reconcile(node.name, 6, node.ipv6, node.podCIDRv6);
      }
    });
  }

  /** A node went away: removes its routes. */
  delete(name: string): Promise<void> {
    return this.serial(async () => {
      for (const family of [4, 6] as const) {
        const cur = this.routes.get(routeKey(name, family));
        if (cur) await this.remove(cur);
      }
    });
  }

  private async reconcile(name: string, family: 4 | 6, via: string | undefined, podCIDR: string | undefined): Promise<void> {
    const cur = this.routes.get(routeKey(name, family));
    const usable = via && podCIDR && !this.own.has(podCIDR) && (this.mode === 'native' || this.ownRouter[family] !== undefined);
    const want: NodeRoute | undefined = usable ? { node: name, podCIDR, via, family } : undefined;
    if (cur && want && cur.podCIDR === want.podCIDR && cur.via === want.via) return;
    if (cur && (!want || cur.podCIDR !== want.podCIDR)) await this.remove(cur);
    if (!want) return;
    if (this.mode === 'tunnel') await this.ensureRule(family);
    for (const argv of this.installArgv(want)) await this.ns.exec(argv);
    this.routes.set(routeKey(name, family), want);
    this.log('info', 'route to node installed', { ...want, mode: this.mode });
  }

  /** `ip route replace` command lines of a node route in this mode. */
  private installArgv(r: NodeRoute): string[][] {
    const f = `-${r.family}`;
    const proto = ['proto', String(ROUTE_PROTO)];
    if (this.mode === 'native') return [['ip', f, 'route', 'replace', r.podCIDR, 'via', r.via, ...proto]];
    // encap ip / ip6: the kernel's collect-metadata VXLAN sends it to r.via with VNI 6
    // (remote-node), under an outer header of r.via's family. Over IPv6 with a UDP
    // checksum (csum): the receiver drops zero-checksum UDP over IPv6 (Udp6InCsumErrors).
    const outer: UnderlayProtocol = r.via.includes(':') ? 'ipv6' : 'ipv4';
    const tail = [
      'encap', outer === 'ipv6' ? 'ip6' : 'ip', 'id', String(ReservedIdentity['remote-node']), 'dst', r.via, ...(outer === 'ipv6' ? ['csum'] : []),
      'dev', TUNNEL_DEV, 'src', this.ownRouter[r.family]!, 'mtu', String(tunnelMtu(outer)), ...proto,
    ];
    return [
      ['ip', f, 'route', 'replace', r.podCIDR, ...tail, 'table', String(HOST_TUNNEL_TABLE)],
      ['ip', f, 'route', 'replace', routerOf(r.podCIDR), ...tail],
    ];
  }

  /** The kernel routes a node route consists of in this mode. */
  private kernelRoutes(r: NodeRoute): KernelRoute[] {
    if (this.mode === 'native') return [{ dst: r.podCIDR, table: 'main' }];
    // A host route: `ip route` prints its destination without /32 or /128.
    return [
      { dst: r.podCIDR, table: HOST_TUNNEL_TABLE },
      { dst: routerOf(r.podCIDR), table: 'main' },
    ];
  }

  /** Tunnel mode: the rule that sends locally generated packets of a family to table 193 first (idempotent). */
  private async ensureRule(family: 4 | 6): Promise<void> {
    if (this.rulesReady.has(family)) return;
    const out = await this.ns.exec(['ip', `-${family}`, 'rule', 'show', 'pref', String(HOST_TUNNEL_RULE_PREF)]);
    if (!out.includes(`lookup ${HOST_TUNNEL_TABLE}`)) {
      await this.ns.exec(['ip', `-${family}`, 'rule', 'add', 'iif', 'lo', 'lookup', String(HOST_TUNNEL_TABLE), 'pref', String(HOST_TUNNEL_RULE_PREF)]);
    }
    this.rulesReady.add(family);
  }

  /**
   * Removes routes of ours (by protocol, in the main table and table 193) that no known
   * node accounts for: leftovers of an earlier run or of the other mode. Native mode also
   * removes tunnel mode's rules.
   */
  pruneStale(): Promise<number> {
    return this.serial(async () => {
      const wanted = new Set([...this.routes.values()].flatMap((r) => this.kernelRoutes(r)).map(kernelKey));
      let n = 0;
      for (const kr of await this.installedRoutes()) {
        if (wanted.has(kernelKey(kr))) continue;
        await this.ns.exec(['ip', 'route', 'del', kr.dst, 'proto', String(ROUTE_PROTO), 'table', String(kr.table)], { allowFail: true });
        this.log('info', 'stale route to node removed', { dst: kr.dst, table: kr.table });
        n++;
      }
      if (this.mode === 'native') {
        for (const f of ['-4', '-6']) {
          await this.ns.exec(['ip', f, 'rule', 'del', 'pref', String(HOST_TUNNEL_RULE_PREF), 'lookup', String(HOST_TUNNEL_TABLE)], { allowFail: true });
        }
      }
      return n;
    });
  }

  /** Destinations of the routes with our protocol in the main table (IPv4, then IPv6). */
  async installed(): Promise<string[]> {
    return (await this.installedRoutes()).filter((r) => r.table === 'main').map((r) => r.dst);
  }

  /** Destinations of the routes with our protocol in table 193 (tunnel mode; IPv4, then IPv6). */
  async installedHostTunnel(): Promise<string[]> {
    return (await this.installedRoutes()).filter((r) => r.table === HOST_TUNNEL_TABLE).map((r) => r.dst);
  }

  private async installedRoutes(): Promise<KernelRoute[]> {
    const out: KernelRoute[] = [];
    for (const table of ['main', HOST_TUNNEL_TABLE] as const) {
      for (const family of ['-4', '-6']) {
        // Text, not -j: the JSON of an `encap ip` route has two "dst" keys (the route's and the tunnel's).
        const text = await this.ns.exec(['ip', family, 'route', 'show', 'proto', String(ROUTE_PROTO), 'table', String(table)], { allowFail: table !== 'main' });
        const dsts = text.split('\n').map((l) => l.trim().split(/\s+/)[0] ?? '').filter((d) => d !== '');
        out.push(...dsts.sort().map((dst) => ({ dst, table })));
      }
    }
    return out;
  }

  private async remove(r: NodeRoute): Promise<void> {
    this.routes.delete(routeKey(r.node, r.family));
    for (const kr of this.kernelRoutes(r)) {
      await this.ns.exec(['ip', `-${r.family}`, 'route', 'del', kr.dst, 'proto', String(ROUTE_PROTO), 'table', String(kr.table)], { allowFail: true });
    }
    this.log('info', 'route to node removed', { ...r, mode: this.mode });
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn, fn);
    this.queue = p.catch((err: Error) => this.log('error', 'node route update failed', { error: err.message }));
    return p;
  }
}

function routeKey(node: string, family: 4 | 6): string {
  return `${node}/${family}`;
}

function kernelKey(r: KernelRoute): string {
  return `${r.table}:${r.dst}`;
}
