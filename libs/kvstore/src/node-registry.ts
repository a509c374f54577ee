// Node registrations: each agent writes `<p>/state/nodes/v1/<cluster>/<node>` bound to
// its session lease, so a node that dies disappears when its lease expires.
import type { KvStore } from './kvstore.js';
import type { KvLease } from './lease.js';
import type { WatchCloser } from './prefix-watch.js';

/** A node as registered in the kvstore (JSON value of its key). */
export interface NodeInfo {
  name: string;
  cluster: string;
  ipv4?: string;
  ipv6?: string;
  /** The pod CIDR the node uses (its own, or the one the operator assigned). */
  podCIDR?: string;
  /** The IPv6 pod CIDR the node uses, when it runs dual-stack. */
  podCIDRv6?: string;
  /** host:port of the node's hubble-server. */
  hubbleAddress?: string;
  /** Path of the node's agent API socket. */
  agentSocket?: string;
}

/** Callbacks of NodeRegistry.watch. */
export interface NodeWatchHandlers {
  upsert(node: NodeInfo): void;
  delete(name: string, cluster: string): void;
  synced?(): void;
}

/** Registers this node and watches the others. */
export class NodeRegistry {
  private registered: NodeInfo | undefined;
  private readonly onSession = (lease: KvLease): void => {
    const node = this.registered;
    if (node) void this.write(node, lease).catch(() => undefined);
  };
  // After an outage the registration may be missing (the lease survived but a write failed): write it again.
  private readonly onReconnect = (): void => {
    if (this.registered) void this.kv.session().then((lease) => this.onSession(lease), () => undefined);
  };

  constructor(
    private readonly kv: KvStore,
    /** Restricts watch() and list() to one cluster (default: every cluster). */
    readonly cluster?: string,
  ) {
    kv.on('session', this.onSession);
    kv.on('reconnect', this.onReconnect);
  }

  /** Writes (or rewrites) this node's registration under the session lease. */
  async register(node: NodeInfo): Promise<void> {
    if (this.registered && (this.registered.name !== node.name || this.registered.cluster !== node.cluster)) {
      await this.deregister();
    }
    this.registered = { ...node };
    await this.write(this.registered, await this.kv.session());
  }

  /** Deletes this node's registration. */
  async deregister(): Promise<void> {
    const node = this.registered;
    this.registered = undefined;
    if (node) await this.kv.delete(this.kv.keys.node(node.cluster, node.name));
  }

  /** Reports registrations as they appear, change and disappear. */
  watch(handlers: NodeWatchHandlers): WatchCloser {
    const base = this.kv.keys.nodesPrefix();
    return this.kv.watchPrefix(this.kv.keys.nodesPrefix(this.cluster), {
      put: (_key, value) => {
        const node = parseNode(value);
        if (node) handlers.upsert(node);
      },
      delete: (key) => {
        const rest = key.slice(base.length);
        const slash = rest.indexOf('/');
        if (slash > 0) handlers.delete(rest.slice(slash + 1), rest.slice(0, slash));
      },
      synced: () => handlers.synced?.(),
    });
  }

  /** Every registered node. */
  async list(): Promise<NodeInfo[]> {
    const entries = await this.kv.getPrefix(this.kv.keys.nodesPrefix(this.cluster));
    return [...entries.values()].map(parseNode).filter((n): n is NodeInfo => n !== undefined);
  }

  /** Stops re-registering on session renewal (the registration stays until deregistered or the lease ends). */
  close(): void {
    this.kv.off('session', this.onSession);
    this.kv.off('reconnect', this.onReconnect);
  }

  private async write(node: NodeInfo, lease: KvLease): Promise<void> {
    await this.kv.put(this.kv.keys.node(node.cluster, node.name), JSON.stringify(node), { lease });
  }
}

/** Parses a node registration value; undefined when it is not a node. */
export function parseNode(value: string): NodeInfo | undefined {
  try {
    const v = JSON.parse(value) as NodeInfo;
    return typeof v?.name === 'string' && typeof v.cluster === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}
