// List-then-watch of one key prefix that survives etcd restarts: after any disconnect
// it lists again and reports only what changed while it was not watching.
import type { IKeyValue, Watcher } from 'etcd3';
import type { KvListing, KvLogger, KvWatchEventRecord } from './kv-types.js';

/** Callbacks of a prefix watch; keys are absolute. */
export interface PrefixWatchHandlers {
  /** A key was created or changed (also once per key of the initial listing). */
  put(key: string, value: string): void;
  /** A key was deleted (also for keys that vanished while disconnected). */
  delete(key: string): void;
  /** The initial listing has been delivered. */
  synced?(): void;
}

/** Stops a watch. */
export interface WatchCloser {
  close(): void;
}

/** What PrefixWatch needs from the store. */
export interface PrefixWatchStore {
  readonly client: import('etcd3').Etcd3;
  list(prefix: string): Promise<KvListing>;
  noteResult(err?: unknown): void;
  /** Reports a watch event handed to its handler (the metrics' events queue time). */
  noteWatchEvent?(rec: KvWatchEventRecord): void;
}

/** @internal One resyncing watch (use KvStore.watchPrefix). */
export class PrefixWatch {
  private readonly known = new Map<string, string>();
  private closed = false;
  private synced = false;
  private watcher: Watcher | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly store: PrefixWatchStore,
    private readonly prefix: string,
    private readonly handlers: PrefixWatchHandlers,
    private readonly log: KvLogger,
  ) {}

  start(): void {
    void this.run();
  }

  close(): void {
    this.closed = true;
    this.stopWatcher();
    this.wake?.();
  }

  private async run(): Promise<void> {
    let delay = 100;
    while (!this.closed) {
      let listing: KvListing;
      try {
        listing = await this.store.list(this.prefix);
      } catch (err) {
        this.log('debug', 'kvstore watch: list failed; retrying', { prefix: this.prefix, error: (err as Error).message });
        await this.sleep(delay);
        delay = Math.min(delay * 2, 2000);
        continue;
      }
      if (this.closed) return;
      delay = 100;
      this.apply(listing.entries);
      if (!this.synced) {
        this.synced = true;
        this.call(() => this.handlers.synced?.());
      }
      const reason = await this.watchFrom(listing.revision + 1n);
      if (this.closed) return;
      this.log('info', 'kvstore watch interrupted; listing again', { prefix: this.prefix, reason });
      await this.sleep(100);
    }
  }

  // Reports the difference between what the handlers last saw and a fresh listing.
  private apply(entries: Map<string, string>): void {
    for (const key of [...this.known.keys()]) {
      if (!entries.has(key)) {
        this.known.delete(key);
        this.call(() => this.handlers.delete(key));
      }
    }
    for (const [key, value] of entries) {
      if (this.known.get(key) !== value) {
        this.known.set(key, value);
        this.call(() => this.handlers.put(key, value));
      }
    }
  }

  // Watches until the stream breaks; resolves with the reason.
  private watchFrom(revision: bigint): Promise<string> {
    return new Promise<string>((resolve) => {
      const w = this.store.client.watch().prefix(this.prefix).startRevision(revision.toString()).watcher();
      this.watcher = w;
      let done = false;
      const finish = (reason: string): void => {
        if (done) return;
        done = true;
        this.stopWatcher();
        this.wake = undefined;
        resolve(reason);
      };
      this.wake = () => finish('closed');
      w.on('connected', () => this.store.noteResult());
      // etcd3 emits 'data' with the whole response, then one put / delete per event.
      let arrivedAt = performance.now();
      w.on('data', () => {
        arrivedAt = performance.now();
      });
      const queued = (action: KvWatchEventRecord['action']): void =>
        this.store.noteWatchEvent?.({ prefix: this.prefix, action, queuedMs: performance.now() - arrivedAt });
      w.on('put', (kv: IKeyValue) => {
        const key = kv.key.toString();
        const value = kv.value.toString();
        if (this.known.get(key) === value) return;
        queued(this.known.has(key) ? 'update' : 'create');
        this.known.set(key, value);
        this.call(() => this.handlers.put(key, value));
      });
      w.on('delete', (kv: IKeyValue) => {
        const key = kv.key.toString();
        if (!this.known.delete(key)) return;
        queued('delete');
        this.call(() => this.handlers.delete(key));
      });
      w.on('disconnected', (err) => {
        this.store.noteResult(err);
        finish(`disconnected: ${err.message}`);
      });
      w.on('error', (err) => finish(`error: ${err.message}`));
      w.on('end', () => finish('ended'));
    });
  }

  private stopWatcher(): void {
    const w = this.watcher;
    this.watcher = undefined;
    if (w) void w.cancel().catch(() => undefined);
  }

  private call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log('error', 'kvstore watch handler threw', { prefix: this.prefix, error: (err as Error).message });
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
}
