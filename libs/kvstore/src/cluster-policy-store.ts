// Cluster-wide policy: `<p>/state/policies/v1/<cluster>/rules` -> JSON `{revision, rules}`,
// the whole rule set of the cluster under one revision. Any agent writes it (a
// compare-and-swap on the key's modification, so concurrent imports never lose one);
// every agent watches it and enforces the same set. No lease: the policy lives until
// deleted. The rules are opaque here: agents validate them (libs/policy) before writing
// and again when they apply them.
import type { IResponseOp } from 'etcd3';
import type { KvStore } from './kvstore.js';
import type { WatchCloser } from './prefix-watch.js';

/** The cluster's policy: every rule (as JSON) and the revision of the change that made it. */
export interface ClusterPolicySet {
  /** 0 while nothing was ever stored; +1 per stored change. */
  revision: number;
  rules: unknown[];
}

/** A stored value that is not a policy set (written by something else, or corrupt). */
export class ClusterPolicyFormatError extends Error {
  override readonly name = 'ClusterPolicyFormatError';
  constructor(
    readonly key: string,
    reason: string,
  ) {
    super(`kvstore: ${key} does not hold a policy set: ${reason}; fix it with "cilium policy import" or remove the key`);
  }
}

/** Callbacks of ClusterPolicyStore.watch. */
export interface ClusterPolicyWatchHandlers {
  /** The set changed (also once with the initial listing; revision 0 when the key is absent). */
  update(set: ClusterPolicySet): void;
  /** The key holds something that is not a policy set (the last good set stays). */
  invalid?(err: ClusterPolicyFormatError): void;
}

/** Attempts of an update that keeps racing with other writers. */
const MaxAttempts = 20;

/** Parses a stored policy set; throws ClusterPolicyFormatError. */
export function parseClusterPolicySet(key: string, value: string): ClusterPolicySet {
  let v: unknown;
  try {
    v = JSON.parse(value);
  } catch (err) {
    throw new ClusterPolicyFormatError(key, `not JSON (${(err as Error).message})`);
  }
  const o = v as { revision?: unknown; rules?: unknown };
  if (typeof v !== 'object' || v === null) throw new ClusterPolicyFormatError(key, 'not an object');
  if (typeof o.revision !== 'number' || !Number.isSafeInteger(o.revision) || o.revision < 1) throw new ClusterPolicyFormatError(key, 'revision is not a positive integer');
  if (!Array.isArray(o.rules)) throw new ClusterPolicyFormatError(key, 'rules is not an array');
  return { revision: o.revision, rules: o.rules };
}

/** Reads, changes and watches the policy of one cluster. */
export class ClusterPolicyStore {
  constructor(
    private readonly kv: KvStore,
    readonly cluster: string,
  ) {}

  private get key(): string {
    return this.kv.keys.policyRules(this.cluster);
  }

  /** The current set (revision 0, no rules, when nothing was stored). */
  async get(): Promise<ClusterPolicySet> {
    const v = await this.kv.get(this.key);
    return v === undefined ? { revision: 0, rules: [] } : parseClusterPolicySet(this.key, v);
  }

  /**
   * Changes the set: `change` gets the current one and returns the new rules, or undefined
   * for no change. Written with a compare-and-swap, retried when another writer won (then
   * `change` runs again on the newer set). Returns the set as stored (or unchanged).
   */
  async update(change: (current: ClusterPolicySet) => unknown[] | undefined): Promise<ClusterPolicySet> {
    const key = this.key;
    for (let attempt = 1; ; attempt++) {
      const read = await this.kv.txn({ compare: [], success: [{ request_range: { key: Buffer.from(key) } }], failure: [] }, key);
      const cur = (read.responses as IResponseOp[])[0]?.response_range?.kvs?.[0];
      const current = cur ? parseClusterPolicySet(key, cur.value.toString()) : { revision: 0, rules: [] };
      const rules = change(current);
      if (rules === undefined) return current;
      const next: ClusterPolicySet = { revision: current.revision + 1, rules };
      const compare = cur
        ? [{ key: Buffer.from(key), target: 'Mod' as const, result: 'Equal' as const, mod_revision: cur.mod_revision }]
        : [{ key: Buffer.from(key), target: 'Create' as const, result: 'Equal' as const, create_revision: '0' }];
      const done = await this.kv.txn({ compare, success: [{ request_put: { key: Buffer.from(key), value: Buffer.from(JSON.stringify(next)) } }], failure: [] }, key);
      if (done.succeeded) return next;
      if (attempt >= MaxAttempts) throw new Error(`policy: gave up after ${MaxAttempts} concurrent updates of ${key}; retry`);
    }
  }

  /** Reports the set as it changes (list, then watch; resynced after etcd outages). */
  watch(handlers: ClusterPolicyWatchHandlers): WatchCloser {
    const key = this.key;
    let seen = false;
    return this.kv.watchPrefix(this.kv.keys.policiesPrefix(this.cluster), {
      put: (k, value) => {
        if (k !== key) return;
        seen = true;
        let set: ClusterPolicySet;
        try {
          set = parseClusterPolicySet(key, value);
        } catch (err) {
          if (err instanceof ClusterPolicyFormatError) handlers.invalid?.(err);
          else throw err;
          return;
        }
        handlers.update(set);
      },
      // A deleted key is an empty set; its revision is unknown, so nothing is reported
      // (`cilium policy delete --all` stores an empty set instead of deleting the key).
      delete: () => undefined,
      synced: () => {
        if (!seen) handlers.update({ revision: 0, rules: [] });
      },
    });
  }
}
