// Node garbage collection: what a node left behind in the kvstore once its registration
// is gone. Keys bound to a node's session lease disappear with the lease; this pass
// removes those that outlived it (a node deregistered while its lease lived on, a store
// restored from a backup): the node's identity references `value/<labels>/<node>` (so the
// identity GC can then collect ids nobody uses) and its ipcache entries. A key is deleted
// only after its node has been unregistered for the grace period, in a transaction that
// requires the node to be still unregistered, so a node that comes back keeps its keys.
import type { KvLogger, KvStore } from '@cilium-ts/kvstore';

/** Result of one node GC pass. */
export interface NodeGcResult {
  references: number;
  ipcache: number;
}

/** Periodic node GC, run while active (the leader). */
export class NodeGc {
  // node -> first time a key of it was seen without a registration
  private readonly orphanSince = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private active = false;
  private deleted = 0;

  constructor(
    private readonly kv: KvStore,
    readonly cluster: string,
    private readonly intervalMs: number,
    private readonly graceMs: number,
    private readonly log: KvLogger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Keys this GC deleted since start. */
  get deletedTotal(): number {
    return this.deleted;
  }

  /** Turns periodic passes on or off. */
  setActive(active: boolean): void {
    this.active = active;
    if (active && !this.timer) {
      this.timer = setInterval(() => void this.runOnce().catch((err) => this.log('warn', 'node GC failed', { error: (err as Error).message })), this.intervalMs);
      this.timer.unref();
    } else if (!active && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
      this.orphanSince.clear();
    }
  }

  /** One pass: deletes the keys of nodes unregistered for longer than the grace period. */
  async runOnce(): Promise<NodeGcResult> {
    const keys = this.kv.keys;
    const [nodes, refs, ips] = await Promise.all([
      this.kv.getPrefix(keys.nodesPrefix()),
      this.kv.getPrefix(keys.identityValuePrefix()),
      this.kv.getPrefix(keys.ipPrefix(this.cluster)),
    ]);
    // Identity references carry no cluster: a node of any cluster sharing the store keeps them.
    const anyCluster = new Set([...nodes.keys()].map((k) => k.slice(k.lastIndexOf('/') + 1)));
    const registered = new Set([...nodes.keys()].filter((k) => k.startsWith(keys.nodesPrefix(this.cluster))).map((k) => k.slice(keys.nodesPrefix(this.cluster).length)));
    // node -> its keys
    const orphans = new Map<string, { refs: string[]; ips: string[] }>();
    const of = (node: string) => orphans.get(node) ?? orphans.set(node, { refs: [], ips: [] }).get(node)!;
    for (const k of refs.keys()) {
      const p = keys.parseIdentityValue(k);
      if (p && !anyCluster.has(p.node)) of(p.node).refs.push(k);
    }
    for (const [k, v] of ips) {
      const node = nodeOf(v);
      if (node && !registered.has(node)) of(node).ips.push(k);
    }
    const now = this.now();
    for (const n of [...this.orphanSince.keys()]) if (!orphans.has(n)) this.orphanSince.delete(n);
    const result: NodeGcResult = { references: 0, ipcache: 0 };
    for (const [node, owned] of orphans) {
      const since = this.orphanSince.get(node) ?? now;
      this.orphanSince.set(node, since);
      if (now - since < this.graceMs || !this.active) continue;
      const nodeKey = Buffer.from(keys.node(this.cluster, node));
      for (const [kind, list] of [['references', owned.refs], ['ipcache', owned.ips]] as const) {
        for (const key of list) {
          const res = await this.kv.txn(
            {
              compare: [{ key: nodeKey, target: 'Version', result: 'Equal', version: 0 }],
              success: [{ request_delete_range: { key: Buffer.from(key) } }],
              failure: [],
            },
            key,
          );
          if (res.succeeded) {
            result[kind]++;
            this.deleted++;
          }
        }
      }
      this.orphanSince.delete(node);
      this.log('info', 'garbage-collected the keys of a removed node', { node, references: owned.refs.length, ipcache: owned.ips.length });
    }
    return result;
  }

  /** Stops the periodic passes. */
  stop(): void {
    this.setActive(false);
  }
}

// The node named in an ipcache entry's JSON value, if any.
function nodeOf(value: string): string | undefined {
  try {
    const v = JSON.parse(value) as { node?: unknown };
    return typeof v.node === 'string' && v.node !== '' ? v.node : undefined;
  } catch {
    return undefined;
  }
}
