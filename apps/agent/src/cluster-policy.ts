/**
 * Cluster-wide policy on one agent: the rules every agent enforces come from the kvstore
 * (libs/kvstore's ClusterPolicyStore: one set, one cluster-wide revision); node-local
 * rules (`cilium policy import --local`, Cilium's local policies) sit beside them in the
 * same repository. An import on any node validates the document (all or nothing, before
 * anything is stored), writes the new set to etcd and returns once this node enforces it;
 * every agent's watch applies the set as a diff of rules, so the policy path stays
 * one-way (repository change -> endpoint policy handle diffs -> policy maps).
 *
 * The applied set is persisted with the local rules (policy.json): an agent that cannot
 * reach etcd keeps enforcing it, across restarts, and catches up when etcd answers again.
 */
import { readFile } from 'node:fs/promises';
import { PolicyValidationError, Repository, parsePolicyDocument, type Rule } from '@cilium-ts/policy';
import type { ClusterPolicyFormatError, ClusterPolicySet, ClusterPolicyStore, WatchCloser } from '@cilium-ts/kvstore';
import { writeFileAtomic } from './atomic-file.js';
import type { PolicyStore } from './policy-store.js';

/** `cilium policy wait` ran out of time before this node enforced the revision. */
export class PolicyWaitTimeoutError extends Error {
  override readonly name = 'PolicyWaitTimeoutError';
  constructor(
    readonly revision: number,
    readonly enforced: number,
    readonly timeoutMs: number,
    detail: string,
  ) {
    super(`policy revision ${revision} is not enforced on this node after ${timeoutMs} ms: it enforces revision ${enforced}${detail ? ` (${detail})` : ''}`);
  }
}

/** The kvstore holds a policy set this agent cannot use (see the message); nothing was changed. */
export class ClusterPolicyUnusableError extends Error {
  override readonly name = 'ClusterPolicyUnusableError';
}

/** The kvstore could not be reached or refused the write; nothing was stored. */
export class ClusterPolicyUnavailableError extends Error {
  override readonly name = 'ClusterPolicyUnavailableError';
}

/** What ClusterPolicy needs of the agent. */
export interface ClusterPolicyDeps {
  policy: PolicyStore;
  /** Where the enforced set and the local rules are persisted (atomically). */
  file: string;
  /** Brings endpoints up to date after a change (enforcement modes; diffs are already in the maps). */
  regenerate(reason: string): Promise<void>;
  log(level: 'info' | 'warn', msg: string, fields?: Record<string, unknown>): void;
  /** How long an import waits for this node to enforce what it stored (default 30 s). */
  importWaitMs?: number;
}

/** The policy part of the agent's status. */
export interface ClusterPolicyStatus {
  /** Cluster-wide revision this node enforces (0: none yet). */
  enforced: number;
  /** Newest cluster-wide revision this node has seen in the kvstore. */
  latest: number;
  /** Enforces less than the kvstore holds, or cannot know (kvstore unreachable, unusable set). */
  lagging: boolean;
  /** Rules from the kvstore and node-local rules. */
  clusterRules: number;
  localRules: number;
  /** Why the set in the kvstore is not applied, when it is not. */
  problem?: string;
}

interface ClusterEntry {
  json: string;
  key: number;
}

/** Persisted form (policy.json, version 2). Version 1 was the repository's `{revision, rules}`. */
interface SavedPolicy {
  version?: number;
  cluster?: { revision: number; rules: Rule[] };
  local?: Rule[];
  rules?: Rule[];
}

/** The cluster-wide and node-local rules of one agent. */
export class ClusterPolicy {
  private cluster: ClusterEntry[] = [];
  private readonly local = new Set<number>();
  private enforcedRev = 0;
  private latestRev = 0;
  private problem: string | undefined;
  private importErrorCount = 0;
  private queue: Promise<void> = Promise.resolve();
  private readonly waiters = new Set<{ revision: number; done: () => void }>();
  private store?: ClusterPolicyStore;
  private watcher?: WatchCloser;

  constructor(private readonly d: ClusterPolicyDeps) {}

  /** The cluster-wide revision this node enforces. */
  get revision(): number {
    return this.enforcedRev;
  }

  /** Loads what save() wrote (missing file: nothing); throws PolicyValidationError on a corrupt file and loads nothing. */
  async load(): Promise<number> {
    let text: string;
    try {
      text = await readFile(this.d.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
    const saved = JSON.parse(text) as SavedPolicy;
    // Version 1 (before cluster-wide policy): its rules are taken as the cluster's at revision 0, replaced by the kvstore's set.
    const clusterRules = saved.version === 2 ? (saved.cluster?.rules ?? []) : (saved.rules ?? []);
    const localRules = saved.version === 2 ? (saved.local ?? []) : [];
    const all = [...clusterRules, ...localRules];
    const keys = this.d.policy.change([], all, 'policy restore');
    this.cluster = clusterRules.map((r, i) => ({ json: JSON.stringify(r), key: keys[i]! }));
    for (const k of keys.slice(clusterRules.length)) this.local.add(k);
    this.enforcedRev = saved.version === 2 ? (saved.cluster?.revision ?? 0) : 0;
    this.latestRev = this.enforcedRev;
    return all.length;
  }

  /** Persists the cluster set (at `revision`, the enforced one by default) and the local rules. */
  async save(revision = this.enforcedRev): Promise<void> {
    const byKey = new Map(this.d.policy.repo.ruleRefs().map((r) => [r.key, r.rule]));
    const saved: SavedPolicy = {
      version: 2,
      cluster: { revision, rules: this.cluster.map((e) => JSON.parse(e.json) as Rule) },
      local: [...this.local].map((k) => byKey.get(k)).filter((r): r is Rule => r !== undefined),
    };
    await writeFileAtomic(this.d.file, JSON.stringify(saved, null, 2) + '\n');
  }

  /** Starts following the kvstore's set. */
  follow(store: ClusterPolicyStore): void {
    this.store = store;
    this.watcher = store.watch({
      update: (set) => this.enqueue(() => this.apply(set)),
      invalid: (err: ClusterPolicyFormatError) => {
        this.problem = err.message;
        this.d.log('warn', 'cluster policy in the kvstore is unusable; enforcing the last good set', { error: err.message, revision: this.enforcedRev });
      },
    });
  }

  /** Stops following the kvstore and fails pending waits. */
  close(): void {
    this.watcher?.close();
    for (const w of this.waiters) w.done();
    this.waiters.clear();
  }

  /**
   * Imports a document. Cluster-wide (default): validated, stored in the kvstore as the
   * next revision, and returned once this node enforces it. `local`: only this node.
   * Throws PolicyValidationError (nothing stored) or ClusterPolicyUnavailableError.
   */
  async import(text: string, source: string, replaceWithLabels: boolean, local: boolean): Promise<{ revision: number; ruleCount: number }> {
    try {
      return await this.importDocument(text, source, replaceWithLabels, local);
    } catch (err) {
      this.importErrorCount++;
      throw err;
    }
  }

  /** Imports that failed (invalid documents, kvstore unreachable), for cilium_policy_import_errors_total. */
  get importErrors(): number {
    return this.importErrorCount;
  }

  private async importDocument(text: string, source: string, replaceWithLabels: boolean, local: boolean): Promise<{ revision: number; ruleCount: number }> {
    const rules = parsePolicyDocument(text, source);
    if (local) {
      await this.enqueue(async () => {
        const remove = replaceWithLabels ? this.d.policy.repo.keysReplacedBy(rules, this.local) : [];
        for (const k of remove) this.local.delete(k);
        for (const k of this.d.policy.change(remove, rules, 'policy import')) this.local.add(k);
        await this.afterChange('policy import');
      });
      return { revision: this.enforcedRev, ruleCount: rules.length };
    }
    const set = await this.write((cur) => {
      cur.add(rules, { replaceWithLabels });
      return true;
    });
    await this.waitFor(set.revision, this.d.importWaitMs ?? 30_000);
    return { revision: set.revision, ruleCount: rules.length };
  }

  /** Deletes rules carrying all `labels` (or all), cluster-wide or, with `local`, of this node. */
  async delete(labels: string[], all: boolean, local: boolean): Promise<{ revision: number; deleted: number }> {
    if (!all) new Repository().deleteByLabels(labels); // validates the labels first (PolicyValidationError)
    if (local) {
      let deleted = 0;
      await this.enqueue(async () => {
        const remove = all ? [...this.local] : this.d.policy.repo.keysWithLabels(labels, this.local);
        for (const k of remove) this.local.delete(k);
        this.d.policy.change(remove, [], 'policy delete');
        deleted = remove.length;
        if (deleted > 0) await this.afterChange('policy delete');
      });
      return { revision: this.enforcedRev, deleted };
    }
    let deleted = 0;
    const set = await this.write((cur) => {
      deleted = (all ? cur.deleteAll() : cur.deleteByLabels(labels)).deleted;
      return deleted > 0;
    });
    if (deleted > 0) await this.waitFor(set.revision, this.d.importWaitMs ?? 30_000);
    return { revision: set.revision, deleted };
  }

  /** Resolves once this node enforces `revision` (or a later one); PolicyWaitTimeoutError after timeoutMs. */
  waitFor(revision: number, timeoutMs: number): Promise<number> {
    if (this.enforcedRev >= revision) return Promise.resolve(this.enforcedRev);
    return new Promise((resolve, reject) => {
      const w = {
        revision,
        done: () => {
          clearTimeout(timer);
          this.waiters.delete(w);
          if (this.enforcedRev >= revision) resolve(this.enforcedRev);
          else reject(new PolicyWaitTimeoutError(revision, this.enforcedRev, timeoutMs, this.lagDetail()));
        },
      };
      const timer = setTimeout(() => w.done(), timeoutMs);
      this.waiters.add(w);
    });
  }

  /** What the status reports; `connected` is the kvstore's. */
  status(connected: boolean): ClusterPolicyStatus {
    return {
      enforced: this.enforcedRev,
      latest: this.latestRev,
      lagging: !connected || this.latestRev > this.enforcedRev || this.problem !== undefined,
      clusterRules: this.cluster.length,
      localRules: this.local.size,
      ...(this.problem ? { problem: this.problem } : {}),
    };
  }

  private lagDetail(): string {
    const parts = [`newest seen in the kvstore: ${this.latestRev}`];
    if (this.problem) parts.push(this.problem);
    return parts.join('; ');
  }

  // Reads the kvstore's set into a scratch repository, lets `edit` change it, stores the result.
  private async write(edit: (cur: Repository) => boolean): Promise<ClusterPolicySet> {
    const store = this.store;
    if (!store) throw new ClusterPolicyUnavailableError('cluster-wide policy is not available yet (the agent is starting); retry, or use --local');
    try {
      return await store.update((current) => {
        const scratch = new Repository();
        try {
          scratch.add(current.rules as Rule[]);
        } catch (err) {
          if (!(err instanceof PolicyValidationError)) throw err;
          throw new ClusterPolicyUnusableError(`the cluster policy in the kvstore (revision ${current.revision}) is not valid: ${err.message}; delete it with "cilium policy delete --all" or fix the key`, { cause: err });
        }
        return edit(scratch) ? scratch.get() : undefined;
      });
    } catch (err) {
      if (err instanceof PolicyValidationError || err instanceof ClusterPolicyUnusableError) throw err;
      const why = (err as Error).message;
      throw new ClusterPolicyUnavailableError(`the policy was not stored: ${why} (to change only this node, use --local)`, { cause: err });
    }
  }

  private enqueue(fn: () => Promise<void>): Promise<void> {
    const p = this.queue.then(fn);
    this.queue = p.catch(() => undefined);
    return p;
  }

  // Applies the kvstore's set as a diff against the cluster rules this node enforces.
  private async apply(set: ClusterPolicySet): Promise<void> {
    if (set.revision === 0) {
      // Nothing in the kvstore (a new cluster, or an etcd that lost its data): keep what is
      // enforced rather than dropping every rule (never fail open).
      if (this.cluster.length > 0) this.problem = `the kvstore holds no cluster policy; enforcing the last known revision ${this.enforcedRev} (import it again to store it)`;
      return;
    }
    this.latestRev = set.revision;
    const available = new Map<string, number[]>();
    for (const e of this.cluster) available.set(e.json, [...(available.get(e.json) ?? []), e.key]);
    const kept: ClusterEntry[] = [];
    const added: Array<{ json: string; rule: Rule }> = [];
    for (const rule of set.rules) {
      const json = JSON.stringify(rule);
      const key = available.get(json)?.shift();
      if (key !== undefined) kept.push({ json, key });
      else added.push({ json, rule: rule as Rule });
    }
    const remove = [...available.values()].flat();
    let keys: number[];
    try {
      keys = this.d.policy.change(remove, added.map((a) => a.rule), 'policy import');
    } catch (err) {
      if (!(err instanceof PolicyValidationError)) throw err;
      this.problem = `cluster policy revision ${set.revision} in the kvstore is not valid (${err.message}); enforcing revision ${this.enforcedRev}`;
      this.d.log('warn', 'cluster policy not applied', { revision: set.revision, error: err.message });
      return;
    }
    this.problem = undefined;
    this.cluster = [...kept, ...added.map((a, i) => ({ json: a.json, key: keys[i]! }))];
    // Enforced (and reported to waiters) only once saved and endpoints are up to date.
    if (remove.length > 0 || added.length > 0) await this.afterChange('policy import', set.revision);
    else await this.save(set.revision);
    this.enforcedRev = set.revision;
    this.d.log('info', 'cluster policy applied', { revision: set.revision, rules: this.cluster.length, added: added.length, removed: remove.length });
    for (const w of [...this.waiters]) if (w.revision <= this.enforcedRev) w.done();
  }

  private async afterChange(reason: string, revision = this.enforcedRev): Promise<void> {
    await this.save(revision);
    await this.d.regenerate(reason);
  }
}
