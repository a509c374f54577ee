/**
 * Routing between nodes. Tunnel mode installs no routes (from-container encapsulates
 * remote pod traffic in VXLAN, see node-setup.ts) and removes those of native mode.
 * Native routing: for every other node of the cluster that has an IPv4
 * address and a pod CIDR, a route `<pod CIDR> via <node ip>` in the node namespace (and,
 * for dual-stack nodes, `<IPv6 pod CIDR> via <node IPv6>`), so
 * packets leaving a pod toward a remote pod go straight to the node hosting it. The
 * destination node's to-container program resolves the source identity through its
 * ipcache (synced from the kvstore) and enforces the ingress policy.
 *
 * Routes carry their own protocol number, so the agent recognises its routes after a
 * restart and removes those of nodes that went away meanwhile.
 */
import type { NodeNetns } from './netns.js';

/** Routing protocol number of the routes this agent installs (`ip route ... proto 193`). */
export const ROUTE_PROTO = 193;

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

/** One installed route. */
export interface NodeRoute {
  node: string;
  podCIDR: string;
  via: string;
  /** Address family of the route. */
  family: 4 | 6;
}

/** Log sink of the route manager. */
export type RouteLog = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

/** Installs and removes the routes toward other nodes' pod CIDRs; every change is serialised. */
export class NodeRoutes {
  private readonly routes = new Map<string, NodeRoute>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly ns: NodeNetns,
    /** This node's name (its own registration is ignored). */
    private readonly self: string,
    /** This node's pod CIDRs, IPv4 and IPv6 (never routed elsewhere). */
    ownPodCidrs: string | readonly string[],
    private readonly log: RouteLog,
    /** tunnel: no routes to other nodes (and ours of an earlier native run are removed). */
    private readonly mode: RoutingMode = 'native',
  ) {
    this.own = new Set(typeof ownPodCidrs === 'string' ? [ownPodCidrs] : ownPodCidrs);
  }

  private readonly own: Set<string>;

  /** Routes installed now, by node name (IPv4 before IPv6). */
  list(): NodeRoute[] {
    return [...this.routes.values()].sort((a, b) => a.node.localeCompare(b.node) || a.family - b.family);
  }

  /** A node appeared or changed: installs, moves or removes its routes (one per family). */
  upsert(node: RemoteNode): Promise<void> {
    return this.serial(async () => {
      if (node.name === this.self) return;
      await this.reconcile(node.name, 4, node.ipv4, node.podCIDR);
      await this.reconcile(node.name, 6, node.ipv6, node.podCIDRv6);
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
    const want: NodeRoute | undefined = this.mode === 'native' && via && podCIDR && !this.own.has(podCIDR) ? { node: name, podCIDR, via, family } : undefined;
    if (cur && want && cur.podCIDR === want.podCIDR && cur.via === want.via) return;
    if (cur && (!want || cur.podCIDR !== want.podCIDR)) await this.remove(cur);
    if (!want) return;
    await this.ns.exec(['ip', `-${family}`, 'route', 'replace', want.podCIDR, 'via', want.via, 'proto', String(ROUTE_PROTO)]);
    this.routes.set(routeKey(name, family), want);
    this.log('info', 'route to node installed', { ...want });
  }

  /** Removes routes of ours (by protocol) that no known node accounts for: leftovers of an earlier run. */
  pruneStale(): Promise<number> {
    return this.serial(async () => {
      const wanted = new Set([...this.routes.values()].map((r) => r.podCIDR));
      let n = 0;
      for (const dst of await this.installed()) {
        if (wanted.has(dst)) continue;
        await this.ns.exec(['ip', 'route', 'del', dst, 'proto', String(ROUTE_PROTO)], { allowFail: true });
        this.log('info', 'stale route to node removed', { podCIDR: dst });
        n++;
      }
      return n;
    });
  }

  /** Destinations of the routes with our protocol in the node namespace (IPv4, then IPv6). */
  async installed(): Promise<string[]> {
    const dsts: string[] = [];
    for (const family of ['-4', '-6']) {
      const out = await this.ns.exec(['ip', family, '-j', 'route', 'show', 'proto', String(ROUTE_PROTO)]);
      const rows = out.trim() ? (JSON.parse(out) as Array<{ dst: string }>) : [];
      dsts.push(...rows.map((r) => r.dst).sort());
    }
    return dsts;
  }

  private async remove(r: NodeRoute): Promise<void> {
    this.routes.delete(routeKey(r.node, r.family));
    await this.ns.exec(['ip', `-${r.family}`, 'route', 'del', r.podCIDR, 'via', r.via, 'proto', String(ROUTE_PROTO)], { allowFail: true });
    this.log('info', 'route to node removed', { ...r });
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
