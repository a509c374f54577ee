// Identity garbage collection: deletes `id/<id>` allocations whose `value/<labels>/*`
// references have all been gone for longer than the grace period. The delete is a
// transaction that re-checks both conditions, so an agent that takes a reference at
// the same moment keeps its identity.
import type { KvLogger, KvStore } from '@cilium-ts/kvstore';
import { prefixEnd } from '@cilium-ts/kvstore';

/** Result of one GC pass. */
export interface IdentityGcResult {
  identities: number;
  unreferenced: number;
  deleted: number[];
}

/** Periodic identity GC, run while active (the leader). */
export class IdentityGc {
  private readonly unreferencedSince = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  private active = false;
  private lastCount = 0;
  private deleted = 0;

  constructor(
    private readonly kv: KvStore,
    private readonly intervalMs: number,
    private readonly graceMs: number,
    private readonly log: KvLogger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Number of identities seen by the last pass. */
  get identities(): number {
    return this.lastCount;
  }

  /** Identities this GC deleted since start. */
  get deletedTotal(): number {
    return this.deleted;
  }

  /** Turns periodic passes on or off. */
  setActive(active: boolean): void {
    this.active = active;
    if (active && !this.timer) {
      this.timer = setInterval(() => void this.runOnce().catch((err) => this.log('warn', 'identity GC failed', { error: (err as Error).message })), this.intervalMs);
      this.timer.unref();
    } else if (!active && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
      this.unreferencedSince.clear();
    }
  }

  /** One pass: notes unreferenced identities and deletes those past the grace period. */
  async runOnce(): Promise<IdentityGcResult> {
    const keys = this.kv.keys;
    const idBase = keys.identityIdPrefix();
    const [ids, refs] = await Promise.all([this.kv.getPrefix(idBase), this.kv.getPrefix(keys.identityValuePrefix())]);
    const referenced = new Set<string>();
    for (const k of refs.keys()) {
      const parsed = keys.parseIdentityValue(k);
      if (parsed) referenced.add(parsed.labels);
    }
    const now = this.now();
    const seen = new Set<number>();
    const deleted: number[] = [];
    let unreferenced = 0;
    for (const [key, labels] of ids) {
      const id = Number(key.slice(idBase.length));
      if (!Number.isInteger(id)) continue;
      seen.add(id);
      if (referenced.has(labels)) {
        this.unreferencedSince.delete(id);
        continue;
      }
      unreferenced++;
      const since = this.unreferencedSince.get(id) ?? now;
      this.unreferencedSince.set(id, since);
      if (now - since < this.graceMs || !this.active) continue;
      const refPrefix = keys.identityValueLabelsPrefix(labels);
      const res = await this.kv.txn(
        {
          compare: [
            { key: Buffer.from(key), target: 'Value', result: 'Equal', value: Buffer.from(labels) },
            { key: Buffer.from(refPrefix), range_end: prefixEnd(refPrefix), target: 'Version', result: 'Equal', version: 0 },
          ],
          success: [{ request_delete_range: { key: Buffer.from(key) } }],
          failure: [],
        },
        key,
      );
      this.unreferencedSince.delete(id);
      if (res.succeeded) {
        deleted.push(id);
        this.deleted++;
        this.log('info', 'garbage-collected identity', { id, labels });
      }
    }
    for (const id of [...this.unreferencedSince.keys()]) if (!seen.has(id)) this.unreferencedSince.delete(id);
    this.lastCount = ids.size - deleted.length;
    return { identities: this.lastCount, unreferenced, deleted };
  }

  /** Stops the periodic passes. */
  stop(): void {
    this.setActive(false);
  }
}
