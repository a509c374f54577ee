// The cluster-wide ipcache: each agent publishes its endpoints' IPs with their identity
// and node under `<p>/state/ip/v1/<cluster>/<ip>`, bound to its session lease.
import type { KvStore } from './kvstore.js';
import type { KvLease } from './lease.js';
import type { WatchCloser } from './prefix-watch.js';

/** One ipcache entry (JSON value of its key). */
export interface IPCacheEntry {
  ip: string;
  identity: number;
  /** The hosting node's IPv4 address. */
  hostIP?: string;
  /** The hosting node's IPv6 address, when it has one (the tunnel's remote end over an IPv6 underlay). */
  hostIPv6?: string;
  node?: string;
  namespace?: string;
  pod?: string;
}

/** Callbacks of IPCacheSync.watch. */
export interface IPCacheWatchHandlers {
  upsert(entry: IPCacheEntry): void;
  delete(ip: string): void;
  synced?(): void;
}

/** Publishes this node's ipcache entries and watches everybody's. */
export class IPCacheSync {
  private readonly owned = new Map<string, IPCacheEntry>();
  // Entries withdrawn while etcd did not answer: deleted when it answers again.
  private readonly pendingDeletes = new Set<string>();
  // Owned ips whose current entry etcd has acknowledged.
  private readonly written = new Set<string>();
  private readonly onSession = (lease: KvLease): void => void this.resync(lease);
  private readonly onReconnect = (): void => void this.kv.session().then((lease) => this.resync(lease), () => undefined);

  constructor(
    private readonly kv: KvStore,
    readonly cluster: string,
  ) {
    kv.on('session', this.onSession);
    kv.on('reconnect', this.onReconnect);
  }

  /** Publishes (or updates) an entry under the session lease; kept and re-written after an outage if the write fails. */
  async upsert(entry: IPCacheEntry): Promise<void> {
    this.owned.set(entry.ip, { ...entry });
    this.pendingDeletes.delete(entry.ip);
    await this.write(entry, await this.kv.session());
  }

  /** Withdraws an entry; retried when etcd answers again if the delete fails. */
  async delete(ip: string): Promise<void> {
    this.owned.delete(ip);
    this.written.delete(ip);
    this.pendingDeletes.add(ip);
    await this.kv.delete(this.kv.keys.ip(this.cluster, ip));
    this.pendingDeletes.delete(ip);
  }

  /** Number of writes and deletes waiting for etcd. */
  get pending(): number {
    return this.pendingDeletes.size + [...this.owned.keys()].filter((ip) => !this.written.has(ip)).length;
  }

  /** Re-writes every owned entry and performs pending deletes (after a new session or an outage). */
  async resync(lease: KvLease): Promise<void> {
    for (const ip of [...this.pendingDeletes]) {
      if (this.owned.has(ip)) continue;
      await this.kv.delete(this.kv.keys.ip(this.cluster, ip)).then(
        () => this.pendingDeletes.delete(ip),
        () => undefined,
      );
    }
    await Promise.all([...this.owned.values()].map((e) => this.write(e, lease).catch(() => undefined)));
  }

  /** Reports entries as they appear, change and disappear. */
  watch(handlers: IPCacheWatchHandlers): WatchCloser {
    const base = this.kv.keys.ipPrefix(this.cluster);
    return this.kv.watchPrefix(base, {
      put: (_key, value) => {
        const e = parseEntry(value);
        if (e) handlers.upsert(e);
      },
      delete: (key) => handlers.delete(key.slice(base.length)),
      synced: () => handlers.synced?.(),
    });
  }

  /** Stops re-publishing on session renewal. */
  close(): void {
    this.kv.off('session', this.onSession);
    this.kv.off('reconnect', this.onReconnect);
  }

  private async write(entry: IPCacheEntry, lease: KvLease): Promise<void> {
    this.written.delete(entry.ip);
    await this.kv.put(this.kv.keys.ip(this.cluster, entry.ip), JSON.stringify(entry), { lease });
    if (this.owned.get(entry.ip)?.identity === entry.identity) this.written.add(entry.ip);
  }
}

function parseEntry(value: string): IPCacheEntry | undefined {
  try {
    const v = JSON.parse(value) as IPCacheEntry;
    return typeof v?.ip === 'string' && typeof v.identity === 'number' ? v : undefined;
  } catch {
    return undefined;
  }
}
