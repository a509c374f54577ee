/**
 * The agent's policy repository: changes (all or nothing, with path-precise errors; which
 * rules are cluster-wide and which node-local is ClusterPolicy's business), validation
 * and the per-endpoint computation, over libs/policy. Every change bumps the revision. Endpoint policies are kept current
 * incrementally by a PolicyEngine that follows the repository and the identity cache;
 * compute() reads the current state of a cached handle instead of recomputing it.
 */
import {
  type EndpointPolicyHandle,
  type PolicyDiff,
  PolicyEngine,
  PolicyValidationError,
  Repository,
  canonicalLabels,
  parsePolicyDocument,
  type PrefixChange,
  type PrefixIdentity,
  type Rule,
} from '@cilium-ts/policy';
import type { EndpointPolicy, PolicyComputer } from './deps.js';
import type { IdentityCache } from './identity-cache.js';

export { PolicyValidationError };

/** Result of validating a document. */
export interface ValidationResult {
  valid: boolean;
  errors: string[];
  ruleCount: number;
}

/** Policy repository plus the computation endpoints use. */
export class PolicyStore implements PolicyComputer {
  readonly repo = new Repository();
  /** The incremental engine over `repo` and the identity cache. */
  readonly engine: PolicyEngine;
  private readonly listeners = new Set<(reason: string) => void>();
  /** Endpoint handles by canonical labels, least recently used first. */
  private readonly handles = new Map<string, EndpointPolicyHandle>();

  /** At most this many label sets keep a live handle (least recently used ones are closed). */
  static readonly MaxHandles = 1024;
  /** Watchers per canonical label set: watched handles are never evicted. */
  private readonly watched = new Map<string, number>();

  constructor(identities: IdentityCache) {
    this.engine = new PolicyEngine({ repository: this.repo, identities: identities.all() });
    identities.onChange((id, labels) => (labels ? this.engine.setIdentity(id, labels) : this.engine.deleteIdentity(id)));
  }

  /** Current revision. */
  get revision(): number {
    return this.repo.revision;
  }

  /** Subscribes to changes. */
  onChange(fn: (reason: string) => void): void {
    this.listeners.add(fn);
  }

  /** Checks a document without applying it. */
  validate(text: string, source: string): ValidationResult {
    try {
      const rules = parsePolicyDocument(text, source);
      return { valid: true, errors: [], ruleCount: rules.length };
    } catch (err) {
      if (err instanceof PolicyValidationError) {
        return { valid: false, errors: err.errors.map((e) => `${source ? `${source}: ` : ''}${e.path}: ${e.message}`), ruleCount: 0 };
      }
      throw err;
    }
  }

  /**
   * Removes the rules with `removeKeys` and adds `rules` as one repository change
   * (validated first: throws PolicyValidationError and changes nothing); returns the keys
   * of the added rules. For ClusterPolicy, which keeps cluster-wide and node-local rules apart.
   */
  change(removeKeys: readonly number[], rules: Rule[], reason: string): number[] {
    const r = this.repo.update(removeKeys, rules);
    if (r.added.length > 0 || removeKeys.length > 0) this.emit(reason);
    return r.added;
  }

  /** Rules carrying all the labels (all rules when empty), as JSON text. */
  get(labels: string[]): { json: string; count: number } {
    const rules = this.repo.get(labels.length > 0 ? labels : undefined);
    return { json: JSON.stringify(rules, null, 2), count: rules.length };
  }

  /** One endpoint's current policy (from its incrementally maintained handle). */
  compute(labels: string[]): EndpointPolicy {
    const r = this.handle(labels).policy();
    return { ingressEnforced: r.ingressEnforced, egressEnforced: r.egressEnforced, entries: r.entries, revision: r.revision };
  }

  /**
   * The live policy handle of endpoints with `labels` (shared by endpoints with the same
   * labels); subscribe with handle.onChange for diffs instead of calling compute().
   */
  handle(labels: string[]): EndpointPolicyHandle {
    const key = canonicalLabels(labels);
    let h = this.handles.get(key);
    if (h && !h.isClosed) this.handles.delete(key);
    else h = this.engine.endpoint(labels);
    this.handles.set(key, h);
    if (this.handles.size > PolicyStore.MaxHandles) {
      for (const [k, old] of this.handles) {
        if (this.handles.size <= PolicyStore.MaxHandles) break;
        if (this.watched.has(k)) continue; // a watched handle feeds an endpoint's policy map
        this.handles.delete(k);
        old.close();
      }
    }
    return h;
  }

  /**
   * Calls fn with every diff of the policy of endpoints with labels (synchronously, at the
   * end of the change that caused it), until the returned function is called. The handle
   * stays open while watched.
   */
  watch(labels: string[], fn: (diff: PolicyDiff) => void): () => void {
    const key = canonicalLabels(labels);
    const off = this.handle(labels).onChange(fn);
    this.watched.set(key, (this.watched.get(key) ?? 0) + 1);
    let on = true;
    return () => {
      if (!on) return;
      on = false;
      off();
      const n = (this.watched.get(key) ?? 1) - 1;
      if (n > 0) this.watched.set(key, n);
      else this.watched.delete(key);
    };
  }

  /** The CIDR identities rules currently need (prefix -> node-local identity), for the ipcache. */
  prefixIdentities(): PrefixIdentity[] {
    return this.engine.cidrIdentities.entries();
  }

  /** Subscribes to CIDR identity changes (for the ipcache); returns the unsubscribe function. */
  onPrefixChange(fn: (change: PrefixChange) => void): () => void {
    return this.engine.onPrefixChange(fn);
  }

  /** Closes the handle of `labels` (when no endpoint has these labels any more). */
  release(labels: string[]): void {
    const key = canonicalLabels(labels);
    this.handles.get(key)?.close();
    this.handles.delete(key);
  }

  private emit(reason: string): void {
    for (const l of this.listeners) l(reason);
  }
}
