// Cluster-pool IPAM: gives every registered node without a pod CIDR the next free
// block of the pool, written at `<p>/state/ipam/v1/nodes/<node>` (agents read it), and
// releases the block when the node's registration is gone. A node that registers with
// its own CIDR inside the pool keeps it. Acts only while `active` (the leader). One
// controller per family: the IPv6 one writes `<p>/state/ipam/v1/nodes-ipv6/<node>` and
// reads the nodes' own `podCIDRv6`.
import type { KvLogger, KvStore, NodeInfo, WatchCloser } from '@cilium-ts/kvstore';
import { NodeRegistry } from '@cilium-ts/kvstore';
import { CidrPool, CidrPoolConfigError, CidrPoolExhaustedError } from './cidr-pool.js';

/** Watches nodes and ipam assignments and reconciles them while active. */
export class IpamController {
  private readonly nodes = new Map<string, NodeInfo>();
  private readonly assigned = new Map<string, string>();
  private readonly closers: WatchCloser[] = [];
  private nodesSynced = false;
  private ipamSynced = false;
  private active = false;
  private running: Promise<void> | undefined;
  private again = false;
  private readonly template: CidrPool;

  constructor(
    private readonly kv: KvStore,
    readonly cluster: string,
    readonly poolCidr: string,
    readonly maskSize: number,
    private readonly log: KvLogger,
    /** Address family of the pool. */
    readonly family: 'ipv4' | 'ipv6' = 'ipv4',
  ) {
    this.template = new CidrPool(poolCidr, maskSize); // validates the configuration up front
    if ((family === 'ipv6') !== poolCidr.includes(':')) throw new CidrPoolConfigError(poolCidr, maskSize, `is not an ${family === 'ipv6' ? 'IPv6' : 'IPv4'} pool`);
  }

  private keyPrefix(): string {
    return this.family === 'ipv6' ? this.kv.keys.ipamNodesV6Prefix() : this.kv.keys.ipamNodesPrefix();
  }

  private key(node: string): string {
    return this.family === 'ipv6' ? this.kv.keys.ipamNodeV6(node) : this.kv.keys.ipamNode(node);
  }

  private ownCidr(node: string): string | undefined {
    const n = this.nodes.get(node);
    return this.family === 'ipv6' ? n?.podCIDRv6 : n?.podCIDR;
  }

  /** Starts watching node registrations and assignments. */
  start(): void {
    this.closers.push(
      new NodeRegistry(this.kv, this.cluster).watch({
        upsert: (n) => {
          this.nodes.set(n.name, n);
          this.schedule();
        },
        delete: (name) => {
          this.nodes.delete(name);
          this.schedule();
        },
        synced: () => {
          this.nodesSynced = true;
          this.schedule();
        },
      }),
    );
    const base = this.keyPrefix();
    this.closers.push(
      this.kv.watchPrefix(base, {
        put: (key, value) => {
          this.assigned.set(key.slice(base.length), value);
          this.schedule();
        },
        delete: (key) => {
          this.assigned.delete(key.slice(base.length));
          this.schedule();
        },
        synced: () => {
          this.ipamSynced = true;
          this.schedule();
        },
      }),
    );
  }

  /** Turns acting on or off (on when this operator leads). */
  setActive(active: boolean): void {
    this.active = active;
    this.schedule();
  }

  /** How many per-node blocks the pool holds. */
  get capacity(): number {
    return this.template.capacity;
  }

  /** The assignments in the kvstore (node -> CIDR), as last seen. */
  allocations(): Map<string, string> {
    return new Map([...this.assigned].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  /** Resolves when no reconcile is running or queued. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Stops watching. */
  stop(): void {
    this.active = false;
    for (const c of this.closers.splice(0)) c.close();
  }

  private schedule(): void {
    if (!this.active || !this.nodesSynced || !this.ipamSynced) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          await this.reconcile();
        } catch (err) {
          this.log('warn', 'ipam reconcile failed; retrying on the next change', { error: (err as Error).message });
          setTimeout(() => this.schedule(), 1000).unref();
        }
      } while (this.again && this.active);
      this.running = undefined;
    })();
  }

  // Rebuilds the pool from the registrations and assignments, then writes the difference.
  private async reconcile(): Promise<void> {
    const pool = new CidrPool(this.poolCidr, this.maskSize);
    const names = [...this.nodes.keys()].sort();
    // 1. Nodes that run with their own CIDR inside the pool keep it.
    for (const name of names) {
      const own = this.ownCidr(name);
      if (own && pool.contains(own) && !pool.occupy(name, own)) {
        this.log('warn', 'node uses a pod CIDR another node holds', { node: name, podCIDR: own });
      }
    }
    // 2. Earlier assignments of registered nodes stand.
    for (const name of names) {
      const prev = this.assigned.get(name);
      if (prev && pool.get(name) === undefined && !this.hasForeignCidr(name)) pool.occupy(name, prev);
    }
    // 3. Registered nodes without a CIDR get the next free block.
    for (const name of names) {
      if (pool.get(name) !== undefined || this.hasForeignCidr(name)) continue;
      try {
        pool.allocate(name);
      } catch (err) {
        if (!(err instanceof CidrPoolExhaustedError)) throw err;
        this.log('error', err.message, { node: name });
      }
    }
    const want = pool.allocations();
    for (const [name, cidr] of want) {
      if (this.assigned.get(name) === cidr) continue;
      if (!this.active) return;
      await this.kv.put(this.key(name), cidr);
      this.assigned.set(name, cidr);
      this.log('info', 'assigned pod CIDR', { node: name, podCIDR: cidr, family: this.family });
    }
    for (const [name, cidr] of [...this.assigned]) {
      if (want.has(name)) continue;
      if (!this.active) return;
      await this.kv.delete(this.key(name));
      this.assigned.delete(name);
      this.log('info', 'released pod CIDR', { node: name, podCIDR: cidr, family: this.family });
    }
  }

  // A node with its own CIDR outside the pool needs nothing from the pool.
  private hasForeignCidr(name: string): boolean {
    const own = this.ownCidr(name);
    return own !== undefined && own !== '' && !this.template.contains(own);
  }
}
