// KvStore: the one connection to etcd that every component shares. Keys passed to its
// methods are absolute etcd keys; build them with `kv.keys` (the contract's layout).
import { EventEmitter } from 'node:events';
import { Election, Etcd3, isRecoverableError } from 'etcd3';
import type { IOptions, IKeyValue, ITxnRequest, ITxnResponse } from 'etcd3';
import { KvStoreConnectError, KvStoreOperationError } from './errors.js';
import { DefaultKvStorePrefix, KeyLayout } from './keys.js';
import type { KvStoreTls } from './kvstore-tls.js';
import { KvLease } from './lease.js';
import type { KvListing, KvLogger, KvWatchEventRecord } from './kv-types.js';
import { PrefixWatch, type PrefixWatchHandlers, type WatchCloser } from './prefix-watch.js';

/** Options of KvStore.connect. */
export interface KvStoreOptions {
  /** etcd client URLs, e.g. ["http://127.0.0.1:2379"]. */
  endpoints: string[];
  /** Key prefix (default "cilium"). */
  prefix?: string;
  /** How long connect() waits for etcd to answer (default 5000 ms). */
  dialTimeoutMs?: number;
  /** TTL of this process's session lease, to which node-owned keys are bound (default 15 s). */
  sessionTtlSeconds?: number;
  /** Interval of the background connectivity probe (default 5000 ms). */
  healthIntervalMs?: number;
  /** Structured log sink (default: silent). */
  log?: KvLogger;
  /** TLS to etcd (https:// endpoints): CA, and the client certificate an etcd with --client-cert-auth requires. */
  tls?: KvStoreTls;
}

/** Connectivity of the kvstore as the last operation or probe saw it. */
export interface KvStoreStatus {
  connected: boolean;
  message: string;
  lastError?: string;
}

/** Event map of KvStore. */
export interface KvStoreEvents {
  /** The connectivity changed. */
  status: [KvStoreStatus];
  /** A new session lease replaced a lost one: re-create keys bound to the session. */
  session: [KvLease];
  /**
   * etcd answers again after an outage (the session lease may have survived it): owners
   * write what they could not write meanwhile.
   */
  reconnect: [];
  /** One operation finished (for the agent's cilium_kvstore_operations_duration_seconds). */
  operation: [KvOperationRecord];
  /** A watch event was handed to its handler (for cilium_kvstore_events_queue_seconds). */
  watchEvent: [KvWatchEventRecord];
}


/** One finished kvstore operation: what (get, put, txn, ...), how long, and whether it worked. */
export interface KvOperationRecord {
  operation: string;
  durationMs: number;
  ok: boolean;
}

// A fault-handling policy that runs the call once: retries and backoff are ours.
const passthrough = {
  execute: <T>(fn: (ctx: { signal: AbortSignal; attempt: number }) => T) =>
    Promise.resolve().then(() => fn({ signal: new AbortController().signal, attempt: 0 })),
} as unknown as NonNullable<NonNullable<IOptions['faultHandling']>['global']>;

/** Returns the first key after every key that starts with `prefix`. */
export function prefixEnd(prefix: string): Buffer {
  const b = Buffer.from(prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i] < 0xff) {
      const out = Buffer.from(b.subarray(0, i + 1));
      out[i]++;
      return out;
    }
  }
  return Buffer.from([0]);
}

/** The shared connection to etcd. */
export class KvStore extends EventEmitter<KvStoreEvents> {
  /** The key prefix, e.g. "cilium". */
  readonly prefix: string;
  /** Key builders of the contract's layout under this prefix. */
  readonly keys: KeyLayout;
  /** The underlying etcd3 client (escape hatch: elections, locks). */
  readonly client: Etcd3;
  private readonly log: KvLogger;
  private readonly sessionTtl: number;
  private current: KvStoreStatus = { connected: false, message: 'connecting' };
  private everConnected = false;
  private disconnectedAt: number | undefined;
  private sessionLease: Promise<KvLease> | undefined;
  private readonly watches = new Set<PrefixWatch>();
  private probeTimer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(readonly endpoints: string[], opts: KvStoreOptions) {
    super();
    this.prefix = (opts.prefix ?? DefaultKvStorePrefix).replace(/\/+$/, '');
    this.keys = new KeyLayout(this.prefix);
    this.log = opts.log ?? (() => undefined);
    this.sessionTtl = opts.sessionTtlSeconds ?? 15;
    const pem = (v: Buffer | string | undefined): Buffer | undefined => (v === undefined ? undefined : Buffer.from(v));
    this.client = new Etcd3({
      hosts: endpoints,
      // rootCertificate undefined: grpc-js verifies against the system roots.
      ...(opts.tls
        ? { credentials: { rootCertificate: pem(opts.tls.ca) as Buffer, privateKey: pem(opts.tls.key), certChain: pem(opts.tls.cert) } }
        : {}),
      dialTimeout: opts.dialTimeoutMs ?? 5000,
      faultHandling: { host: () => passthrough, global: passthrough },
      // Detect a dead etcd under an open watch even without a TCP reset (etcd allows pings every 5 s).
      grpcOptions: {
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 5_000,
        // Reconnect within a second of etcd coming back, however long it was away.
        'grpc.initial_reconnect_backoff_ms': 200,
        'grpc.max_reconnect_backoff_ms': 1000,
      },
    });
  }

  /** Connects to etcd and verifies that it answers; throws KvStoreConnectError if not. */
  static async connect(opts: KvStoreOptions): Promise<KvStore> {
    const endpoints = opts.endpoints.map((e) => e.trim()).filter((e) => e.length > 0);
    const timeoutMs = opts.dialTimeoutMs ?? 5000;
    if (endpoints.length === 0) throw new KvStoreConnectError(opts.endpoints, timeoutMs, { cause: new Error('no endpoints given') });
    const kv = new KvStore(endpoints, opts);
    try {
      await kv.probe(timeoutMs, true);
    } catch (err) {
      kv.client.close();
      throw new KvStoreConnectError(endpoints, timeoutMs, { cause: err });
    }
    kv.probeTimer = setInterval(() => void kv.probe(2000, false).catch(() => undefined), opts.healthIntervalMs ?? 5000);
    kv.probeTimer.unref();
    kv.log('info', 'connected to kvstore', { endpoints, prefix: kv.prefix });
    return kv;
  }

  /** The current connectivity. */
  status(): KvStoreStatus {
    return { ...this.current };
  }

  /** Milliseconds since etcd stopped answering, or undefined while connected. */
  outageMs(): number | undefined {
    return this.disconnectedAt === undefined ? undefined : Date.now() - this.disconnectedAt;
  }

  /** Reads one key; undefined when absent. */
  async get(key: string): Promise<string | undefined> {
    return this.op('get', key, async () => (await this.client.get(key).string()) ?? undefined);
  }

  /** Writes key = value, optionally bound to a lease. */
  async put(key: string, value: string, opts?: { lease?: KvLease }): Promise<void> {
    await this.op('put', key, async () => {
      if (opts?.lease) await opts.lease.put(key, value);
      else await this.client.put(key).value(value).exec();
    });
  }

  /** Deletes one key; true when it existed. */
  async delete(key: string): Promise<boolean> {
    return this.op('delete', key, async () => Number((await this.client.delete().key(key).exec()).deleted) > 0);
  }

  /** Deletes every key under a prefix; returns how many were deleted. */
  async deletePrefix(prefix: string): Promise<number> {
    return this.op('delete prefix', prefix, async () => Number((await this.client.delete().prefix(prefix).exec()).deleted));
  }

  /** Reads every key under a prefix. */
  async getPrefix(prefix: string): Promise<Map<string, string>> {
    return (await this.list(prefix)).entries;
  }

  /** Reads every key under a prefix together with the revision of the read. */
  async list(prefix: string): Promise<KvListing> {
    return this.op('list', prefix, async () => {
      const res = await this.client.kv.range({ key: Buffer.from(prefix), range_end: prefixEnd(prefix) });
      const entries = new Map<string, string>();
      for (const kv of res.kvs as IKeyValue[]) entries.set(kv.key.toString(), kv.value.toString());
      return { entries, revision: BigInt(res.header.revision) };
    });
  }

  /** Runs a raw etcd transaction (compares, then success or failure ops). */
  async txn(req: ITxnRequest, what = 'txn'): Promise<ITxnResponse> {
    return this.op('txn', what, () => this.client.kv.txn(req));
  }

  /** Grants a lease kept alive in the background. */
  async lease(ttlSeconds: number): Promise<KvLease> {
    return this.op('lease grant', `ttl=${ttlSeconds}s`, async () => {
      const inner = this.client.lease(ttlSeconds, { autoKeepAlive: true });
      const id = await inner.grant();
      return new KvLease(inner, id, ttlSeconds);
    });
  }

  /**
   * This process's session lease (granted on first use). When it is lost a new one is
   * granted and announced with the 'session' event; owners re-create their keys then.
   */
  session(): Promise<KvLease> {
    if (!this.sessionLease) {
      const p = this.lease(this.sessionTtl).then((lease) => {
        lease.once('lost', (err) => {
          if (this.closed || this.sessionLease !== p) return;
          this.log('warn', 'kvstore session lease lost; granting a new one', { lease: lease.id, error: err.message });
          this.sessionLease = undefined;
          void this.renewSession();
        });
        return lease;
      });
      p.catch(() => {
        if (this.sessionLease === p) this.sessionLease = undefined;
      });
      this.sessionLease = p;
    }
    return this.sessionLease;
  }

  private async renewSession(): Promise<void> {
    let delay = 200;
    while (!this.closed) {
      try {
        const lease = await this.session();
        this.emit('session', lease);
        return;
      } catch (err) {
        this.log('warn', 'kvstore session lease grant failed; retrying', { error: (err as Error).message });
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 1000);
      }
    }
  }

  /**
   * Lists every key under `prefix`, then watches from the listing's revision. After a
   * disconnect (etcd restart, compaction) it lists again and reports only the difference.
   */
  watchPrefix(prefix: string, handlers: PrefixWatchHandlers): WatchCloser {
    const w = new PrefixWatch(this, prefix, handlers, this.log);
    this.watches.add(w);
    w.start();
    return {
      close: () => {
        this.watches.delete(w);
        w.close();
      },
    };
  }

  /** An etcd3 leader election under `<prefix>/<name>`. */
  election(name: string, ttlSeconds: number): Election {
    return new Election(this.client.namespace(`${this.prefix}/`), name, ttlSeconds);
  }

  /**
   * Stops watches, ends the session lease and closes the connection. The lease is revoked
   * (every key bound to it goes now) unless `keepSession`: then only its keepalive stops
   * and the keys live until its TTL runs out, long enough for a restarted process to write
   * them again under a new session (an agent restart must not take its node out of the
   * cluster).
   */
  async close(opts: { keepSession?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.probeTimer) clearInterval(this.probeTimer);
    for (const w of this.watches) w.close();
    this.watches.clear();
    const session = this.sessionLease;
    this.sessionLease = undefined;
    if (session) {
      try {
        const lease = await session;
        if (!opts.keepSession) await Promise.race([lease.revoke().catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())]);
        lease.release(); // stops the keepalive (if the revoke did not get through, or was not wanted)
      } catch {
        // the lease expires on its own
      }
    }
    this.client.close();
    this.setStatus({ connected: false, message: 'closed' });
  }

  /** @internal Reports a delivered watch event (PrefixWatch). */
  noteWatchEvent(rec: KvWatchEventRecord): void {
    this.emit('watchEvent', rec);
  }

  /** @internal Records the outcome of an operation or watch for status(). */
  noteResult(err?: unknown): void {
    if (err === undefined) {
      if (!this.current.connected) this.setStatus({ connected: true, message: `connected to ${this.endpoints.join(', ')}` });
      return;
    }
    if (err instanceof Error && !isRecoverableError(err) && !/unavailable|deadline|connect|timed out/i.test(err.message)) return;
    const msg = err instanceof Error ? err.message : String(err);
    if (this.current.connected || this.current.lastError !== msg) {
      this.setStatus({ connected: false, message: `cannot reach etcd at ${this.endpoints.join(', ')}`, lastError: msg });
    }
  }

  private setStatus(s: KvStoreStatus): void {
    const changed = s.connected !== this.current.connected || s.message !== this.current.message;
    const reconnected = s.connected && !this.current.connected && this.everConnected && !this.closed;
    if (!s.connected && this.current.connected) this.disconnectedAt = Date.now();
    if (s.connected) {
      this.everConnected = true;
      this.disconnectedAt = undefined;
    }
    this.current = s;
    if (changed) {
      this.log(s.connected ? 'info' : 'warn', 'kvstore status changed', { ...s });
      this.emit('status', { ...s });
    }
    if (reconnected) this.emit('reconnect');
  }

  private async probe(timeoutMs: number, strict: boolean): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.client.maintenance.status({ deadline: new Date(Date.now() + timeoutMs) }),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      this.noteResult();
    } catch (err) {
      this.noteResult(err instanceof Error && /no answer/.test(err.message) ? new Error(`unavailable: ${err.message}`) : err);
      if (strict) throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  private async op<T>(operation: string, key: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new KvStoreOperationError(operation, key, { cause: new Error('the kvstore client is closed') });
    const start = performance.now();
    try {
      const out = await fn();
      this.noteResult();
      this.emit('operation', { operation, durationMs: performance.now() - start, ok: true });
      return out;
    } catch (err) {
      this.noteResult(err);
      this.emit('operation', { operation, durationMs: performance.now() - start, ok: false });
      throw new KvStoreOperationError(operation, key, { cause: err });
    }
  }
}
