// Cluster-wide security identity allocation (labels -> numeric id) in etcd, in the
// design of Cilium's kvstore allocator: the id key `id/<id>` is the allocation, created
// once with a transaction; every node that uses it keeps a reference
// `value/<labels>/<node>` bound to its session lease. The operator deletes ids whose
// references have been gone for a grace period.
import type { ICompare, IRequestOp, IResponseOp } from 'etcd3';
import { prefixEnd, type KvStore } from './kvstore.js';
import type { KvLease } from './lease.js';
import { IdentityAllocationError, KvStoreOperationError } from './errors.js';
import { canonicalLabels, LabelParseError, MinClusterIdentity } from '@cilium-ts/policy';
import { MaxClusterIdentity, splitCanonicalLabels } from './keys.js';
import type { WatchCloser } from './prefix-watch.js';

/** Result of IdentityAllocator.allocate. */
export interface AllocatedIdentity {
  id: number;
  /** True when this call created the identity cluster-wide. */
  isNew: boolean;
  /**
   * True when etcd did not answer and the id came from the identities this node already
   * knew; the node's reference is claimed in etcd as soon as it answers again.
   */
  cached?: boolean;
}

/** Options of IdentityAllocator. */
export interface IdentityAllocatorOptions {
  minId?: number;
  maxId?: number;
  /** How long allocate() waits for etcd before falling back to a known id of the labels (default 2000 ms). */
  fallbackAfterMs?: number;
}

const MaxAttempts = 200;

/** Allocates identities for label sets, shared by every node of the cluster. */
export class IdentityAllocator {
  private readonly ids = new Map<number, string>();
  private readonly byLabels = new Map<string, number>();
  private readonly local = new Map<string, { id: number; refs: number; unclaimed?: boolean }>();
  // Label sets whose node reference could not be deleted while etcd was away.
  private readonly pendingReleases = new Set<string>();
  private readonly fallbackAfterMs: number;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly reserved = new Set<number>();
  // Ids seen taken by a failed create: skipped as candidates, not reported by lookup().
  private readonly takenHints = new Set<number>();
  private readonly listeners = new Set<(id: number, labels: string[] | undefined) => void>();
  private readonly watcher: WatchCloser;
  private readonly synced: Promise<void>;
  private readonly minId: number;
  private readonly maxId: number;
  private readonly onSession = (lease: KvLease): void => void this.restoreReferences(lease, false);
  private readonly onReconnect = (): void => this.resyncAfterOutage();

  constructor(
    private readonly kv: KvStore,
    /** Name of this node: the last segment of its reference keys. */
    readonly nodeName: string,
    opts: IdentityAllocatorOptions = {},
  ) {
    this.minId = opts.minId ?? MinClusterIdentity;
    this.maxId = opts.maxId ?? MaxClusterIdentity;
    this.fallbackAfterMs = opts.fallbackAfterMs ?? 2000;
    const base = kv.keys.identityIdPrefix();
    let markSynced!: () => void;
    this.synced = new Promise((r) => (markSynced = r));
    this.watcher = kv.watchPrefix(base, {
      put: (key, value) => {
        const id = Number(key.slice(base.length));
        if (!Number.isInteger(id)) return;
        this.remember(id, value);
        this.notify(id, splitCanonicalLabels(value));
      },
      delete: (key) => {
        const id = Number(key.slice(base.length));
        this.takenHints.delete(id);
        if (!this.forget(id)) return;
        this.notify(id, undefined);
      },
      synced: () => markSynced(),
    });
    kv.on('session', this.onSession);
    kv.on('reconnect', this.onReconnect);
  }

  /** Resolves once the identities that exist in the kvstore have been read. */
  ready(): Promise<void> {
    return this.synced;
  }

  /**
   * Returns the id of a label set, allocating it cluster-wide if needed; counts a local
   * reference. While etcd does not answer, a label set whose id this node already knows
   * gets that id (`cached`), and the reference is claimed when etcd answers again; a new
   * label set fails with the kvstore's error.
   */
  async allocate(labels: readonly string[]): Promise<AllocatedIdentity> {
    const canonical = canonicalOrThrow(labels);
    if (canonical === '') throw new IdentityAllocationError(canonical, 'the label set is empty; give at least one label');
    return this.serialize(canonical, async () => {
      const held = this.local.get(canonical);
      if (held) {
        held.refs++;
        return { id: held.id, isNew: false };
      }
      const attempt = (async () => {
        await this.synced;
        return this.acquire(canonical, await this.kv.session());
      })();
      const known = this.byLabels.get(canonical);
      try {
        const got = known === undefined ? await attempt : await withTimeout(attempt, this.fallbackAfterMs);
        this.local.set(canonical, { id: got.id, refs: 1 });
        this.pendingReleases.delete(canonical);
        return got;
      } catch (err) {
        if (known === undefined || !(err instanceof KvStoreOperationError || err instanceof FallbackTimeout)) throw err;
        // The reference this attempt may still write later is the one we want anyway.
        attempt.catch(() => undefined);
        this.local.set(canonical, { id: known, refs: 1, unclaimed: true });
        this.pendingReleases.delete(canonical);
        return { id: known, isNew: false, cached: true };
      }
    });
  }

  /** Drops one local reference; the node's reference key goes when none are left (later, if etcd does not answer now). */
  async release(labels: readonly string[]): Promise<void> {
    const canonical = canonicalOrThrow(labels);
    await this.serialize(canonical, async () => {
      const held = this.local.get(canonical);
      if (!held) return;
      if (--held.refs > 0) return;
      this.local.delete(canonical);
      this.pendingReleases.add(canonical);
      await this.kv.delete(this.kv.keys.identityValue(canonical, this.nodeName));
      this.pendingReleases.delete(canonical);
    });
  }

  /** References waiting for etcd: taken from the cache (to claim) plus released ones (to delete). */
  pending(): { unclaimed: number; releases: number } {
    return { unclaimed: [...this.local.values()].filter((h) => h.unclaimed).length, releases: this.pendingReleases.size };
  }

  /** The labels of an identity known in the kvstore, or undefined. */
  lookup(id: number): string[] | undefined {
    const c = this.ids.get(id);
    return c === undefined ? undefined : splitCanonicalLabels(c);
  }

  /** The id of a label set known in the kvstore, or undefined (no allocation). */
  lookupLabels(labels: readonly string[]): number | undefined {
    return this.byLabels.get(canonicalOrThrow(labels));
  }

  /** Every identity known in the kvstore. */
  list(): Map<number, string[]> {
    return new Map([...this.ids].map(([id, c]) => [id, splitCanonicalLabels(c)]));
  }

  /** Calls onChange(id, labels) when an identity appears and (id, undefined) when it is deleted. */
  watch(onChange: (id: number, labels: string[] | undefined) => void): WatchCloser {
    this.listeners.add(onChange);
    return { close: () => void this.listeners.delete(onChange) };
  }

  /** Stops watching; references stay until released or the session lease ends. */
  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.watcher.close();
    this.kv.off('session', this.onSession);
    this.kv.off('reconnect', this.onReconnect);
    this.listeners.clear();
  }

  // Finds or creates the id of a canonical label set and writes this node's reference.
  private async acquire(canonical: string, lease: KvLease): Promise<AllocatedIdentity> {
    const keys = this.kv.keys;
    const refPrefix = keys.identityValueLabelsPrefix(canonical);
    const refKey = keys.identityValue(canonical, this.nodeName);
    let rangeCompare = true;
    let lastProblem = '';
    for (let attempt = 0; attempt < MaxAttempts; attempt++) {
      // 1. An id that other nodes reference, or one the cache knows.
      const refs = await this.kv.getPrefix(refPrefix);
      let existing: number | undefined;
      let foreignRefs = false;
      for (const [k, v] of refs) {
        if (keys.parseIdentityValue(k)?.labels === canonical && Number.isInteger(Number(v))) existing = Number(v);
        else foreignRefs = true;
      }
      existing ??= this.byLabels.get(canonical);
      if (existing !== undefined) {
        if (await this.claim(canonical, existing, refKey, lease)) return { id: existing, isNew: false };
        this.forget(existing);
        lastProblem = `id ${existing} vanished while claiming it`;
        continue;
      }
      // 2. A new id: create it only if it is free and nobody references these labels.
      if (foreignRefs) rangeCompare = false;
      const candidate = this.nextCandidate();
      if (candidate === undefined) {
        throw new IdentityAllocationError(canonical, `no free identity between ${this.minId} and ${this.maxId}; run identity GC`);
      }
      this.reserved.add(candidate);
      try {
        const idKey = Buffer.from(keys.identityId(candidate));
        const compare: ICompare[] = [{ key: idKey, target: 'Version', result: 'Equal', version: 0 }];
        if (rangeCompare) {
          compare.push({ key: Buffer.from(refPrefix), range_end: prefixEnd(refPrefix), target: 'Version', result: 'Equal', version: 0 });
        }
        const success: IRequestOp[] = [
          { request_put: { key: idKey, value: Buffer.from(canonical) } },
          { request_put: { key: Buffer.from(refKey), value: Buffer.from(String(candidate)), lease: lease.id } },
        ];
        const failure: IRequestOp[] = [{ request_range: { key: idKey } }];
        const res = await this.kv.txn({ compare, success, failure }, keys.identityId(candidate));
        if (res.succeeded) {
          this.remember(candidate, canonical);
          return { id: candidate, isNew: true };
        }
        const taken = (res.responses as IResponseOp[])[0]?.response_range?.kvs?.[0];
        if (taken) this.takenHints.add(candidate);
        lastProblem = taken ? `id ${candidate} was taken concurrently` : 'another node allocated these labels concurrently';
      } finally {
        this.reserved.delete(candidate);
      }
    }
    throw new IdentityAllocationError(canonical, `gave up after ${MaxAttempts} attempts (${lastProblem}); retry later`);
  }

  // Writes this node's reference to `id` if id/<id> still holds these labels.
  private async claim(canonical: string, id: number, refKey: string, lease: KvLease): Promise<boolean> {
    const res = await this.kv.txn(
      {
        compare: [{ key: Buffer.from(this.kv.keys.identityId(id)), target: 'Value', result: 'Equal', value: Buffer.from(canonical) }],
        success: [{ request_put: { key: Buffer.from(refKey), value: Buffer.from(String(id)), lease: lease.id } }],
        failure: [],
      },
      refKey,
    );
    return res.succeeded;
  }

  // After an outage: claim the references taken from the cache and delete released ones;
  // retried every second until everything went through.
  private resyncAfterOutage(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    void (async () => {
      let done = false;
      try {
        done = await this.restoreReferences(await this.kv.session(), true);
      } catch {
        done = false;
      }
      const { unclaimed, releases } = this.pending();
      if (!this.closed && (!done || unclaimed + releases > 0)) {
        this.retryTimer = setTimeout(() => this.resyncAfterOutage(), 1000);
        this.retryTimer.unref();
      }
    })();
  }

  // Re-writes this node's references (all, or only those taken from the cache); true when all went through.
  private async restoreReferences(lease: KvLease, onlyPending: boolean): Promise<boolean> {
    let ok = true;
    for (const canonical of [...this.pendingReleases]) {
      await this.serialize(canonical, async () => {
        if (this.local.has(canonical) || !this.pendingReleases.has(canonical)) return;
        await this.kv.delete(this.kv.keys.identityValue(canonical, this.nodeName));
        this.pendingReleases.delete(canonical);
      }).catch(() => (ok = false));
    }
    for (const [canonical, held] of this.local) {
      if (onlyPending && !held.unclaimed) continue;
      const refKey = this.kv.keys.identityValue(canonical, this.nodeName);
      try {
        await this.serialize(canonical, async () => {
          if (this.local.get(canonical) !== held) return;
          if (!(await this.claim(canonical, held.id, refKey, lease))) {
            // The id was garbage-collected meanwhile: allocate again (the id may change).
            const got = await this.acquire(canonical, lease);
            held.id = got.id;
          }
          held.unclaimed = false;
        });
      } catch {
        ok = false; // retried on the next session renewal or reconnect
      }
    }
    return ok;
  }

  private nextCandidate(): number | undefined {
    for (let id = this.minId; id <= this.maxId; id++) {
      if (!this.ids.has(id) && !this.reserved.has(id) && !this.takenHints.has(id)) return id;
    }
    return undefined;
  }

  private remember(id: number, canonical: string): void {
    const old = this.ids.get(id);
    if (old !== undefined && old !== canonical && this.byLabels.get(old) === id) this.byLabels.delete(old);
    this.ids.set(id, canonical);
    if (!this.byLabels.has(canonical)) this.byLabels.set(canonical, id);
  }

  private forget(id: number): boolean {
    const c = this.ids.get(id);
    if (c === undefined) return false;
    this.ids.delete(id);
    if (this.byLabels.get(c) === id) {
      this.byLabels.delete(c);
      for (const [other, oc] of this.ids) if (oc === c) this.byLabels.set(c, other);
    }
    return true;
  }

  private notify(id: number, labels: string[] | undefined): void {
    for (const l of this.listeners) {
      try {
        l(id, labels);
      } catch {
        // a listener's failure is its own
      }
    }
  }

  // Runs fn after every earlier call for the same labels has finished.
  private serialize<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.queues.set(key, tail);
    void tail.then(() => {
      if (this.queues.get(key) === tail) this.queues.delete(key);
    });
    return run;
  }
}

// The canonical label string (libs/policy's normal form), or IdentityAllocationError.
function canonicalOrThrow(labels: readonly string[]): string {
  try {
    return canonicalLabels([...labels]);
  } catch (err) {
    if (err instanceof LabelParseError) throw new IdentityAllocationError(labels.join(';'), err.message, { cause: err });
    throw err;
  }
}

// allocate() gave up waiting for etcd.
class FallbackTimeout extends Error {}

// Resolves or rejects with p, or rejects with FallbackTimeout after ms.
function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new FallbackTimeout(`etcd did not answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
