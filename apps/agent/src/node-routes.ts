/**
 * Native routing between nodes: for every other node of the cluster that has an IPv4
 * address and a pod CIDR, a route `<pod CIDR> via <node ip>` in the node namespace, so
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
export const SUPPORTED_ROUTING_MODES: readonly RoutingMode[] = ['native'];

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
  if (mode === 'native') return mode;
  if (mode === 'tunnel') {
    throw new RoutingModeError(
      mode,
      'VXLAN tunnelling is not implemented yet (the datapath cannot yet carry the source identity in the tunnel header); use --routing-mode native',
    );
  }
  throw new RoutingModeError(mode, 'is not one of native, tunnel');
}

/** A remote node as the route manager needs it. */
export interface RemoteNode {
  name: string;
  ipv4?: string;
  podCIDR?: string;
}

/** One installed route. */
export interface NodeRoute {
  node: string;
  podCIDR: string;
  via: string;
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
    /** This node's pod CIDR (never routed elsewhere). */
    private readonly ownPodCidr: string,
    private readonly log: RouteLog,
  ) {}

  /** Routes installed now, by node name. */
  list(): NodeRoute[] {
    return [...this.routes.values()].sort((a, b) => a.node.localeCompare(b.node));
  }

  /** A node appeared or changed: installs, moves or removes its route. */
  upsert(node: RemoteNode): Promise<void> {
    return this.serial(async () => {
      if (node.name === this.self) return;
      const cur = this.routes.get(node.name);
      const want = node.ipv4 && node.podCIDR && node.podCIDR !== this.ownPodCidr ? { node: node.name, podCIDR: node.podCIDR, via: node.ipv4 } : undefined;
      if (cur && want && cur.podCIDR === want.podCIDR && cur.via === want.via) return;
      if (cur && (!want || cur.podCIDR !== want.podCIDR)) await this.remove(cur);
      if (!want) return;
      await this.ns.exec(['ip', 'route', 'replace', want.podCIDR, 'via', want.via, 'proto', String(ROUTE_PROTO)]);
      this.routes.set(node.name, want);
      this.log('info', 'route to node installed', { ...want });
    });
  }

  /** A node went away: removes its route. */
  delete(name: string): Promise<void> {
    return this.serial(async () => {
      const cur = this.routes.get(name);
      if (cur) await this.remove(cur);
    });
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

  /** Destinations of the routes with our protocol in the node namespace. */
  async installed(): Promise<string[]> {
    const out = await this.ns.exec(['ip', '-j', 'route', 'show', 'proto', String(ROUTE_PROTO)]);
    const rows = out.trim() ? (JSON.parse(out) as Array<{ dst: string }>) : [];
    return rows.map((r) => r.dst).sort();
  }

  private async remove(r: NodeRoute): Promise<void> {
    this.routes.delete(r.node);
    await this.ns.exec(['ip', 'route', 'del', r.podCIDR, 'via', r.via, 'proto', String(ROUTE_PROTO)], { allowFail: true });
    this.log('info', 'route to node removed', { ...r });
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn, fn);
    this.queue = p.catch((err: Error) => this.log('error', 'node route update failed', { error: err.message }));
    return p;
  }
}
