// The cluster-wide ipcache: each agent publishes its endpoints' IPs with their identity
// and node under `<p>/state/ip/v1/<cluster>/<ip>`, bound to its session lease.
import type { KvStore } from './kvstore.js';
import type { KvLease } from './lease.js';
import type { WatchCloser } from './prefix-watch.js';

/** One ipcache entry (JSON value of its key). */
export interface IPCacheEntry {
  ip: string;
  identity: number;
  hostIP?: string;
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
  private readonly onSession = (lease: KvLease): void => {
    for (const e of this.owned.values()) void this.write(e, lease).catch(() => undefined);
  };

  constructor(
    private readonly kv: KvStore,
    readonly cluster: string,
  ) {
    kv.on('session', this.onSession);
  }

  /** Publishes (or updates) an entry under the session lease. */
  async upsert(entry: IPCacheEntry): Promise<void> {
    this.owned.set(entry.ip, { ...entry });
    await this.write(entry, await this.kv.session());
  }

  /** Withdraws an entry. */
  async delete(ip: string): Promise<void> {
    this.owned.delete(ip);
    await this.kv.delete(this.kv.keys.ip(this.cluster, ip));
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
  }

  private async write(entry: IPCacheEntry, lease: KvLease): Promise<void> {
    await this.kv.put(this.kv.keys.ip(this.cluster, entry.ip), JSON.stringify(entry), { lease });
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
