/**
 * The agent's policy repository: imports (all or nothing, with path-precise errors),
 * deletes and the per-endpoint computation, over libs/policy. Every change bumps the
 * revision and asks for endpoint regeneration.
 */
import {
  PolicyValidationError,
  Repository,
  computeEndpointPolicy,
  parsePolicyDocument,
  type PolicyEntry,
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
  private readonly listeners = new Set<(reason: string) => void>();

  constructor(private readonly identities: IdentityCache) {}

  /** Current revision. */
  get revision(): number {
    return this.repo.revision;
  }

  /** Subscribes to changes. */
  onChange(fn: (reason: string) => void): void {
    this.listeners.add(fn);
  }

  /** Validates and applies a document; throws PolicyValidationError and changes nothing if invalid. */
  import(text: string, source: string, replaceWithLabels: boolean): { revision: number; ruleCount: number } {
    const rules = parsePolicyDocument(text, source);
    const revision = this.repo.add(rules, { replaceWithLabels });
    this.emit('policy import');
    return { revision, ruleCount: rules.length };
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

  /** Deletes rules by labels, or all. */
  delete(labels: string[], all: boolean): { revision: number; deleted: number } {
    const r = all ? this.repo.deleteAll() : this.repo.deleteByLabels(labels);
    if (r.deleted > 0) this.emit('policy delete');
    return { revision: r.revision, deleted: r.deleted };
  }

  /** Rules carrying all the labels (all rules when empty), as JSON text. */
  get(labels: string[]): { json: string; count: number } {
    const rules = this.repo.get(labels.length > 0 ? labels : undefined);
    return { json: JSON.stringify(rules, null, 2), count: rules.length };
  }

  /** Computes one endpoint's policy. */
  compute(labels: string[]): EndpointPolicy {
    const r = computeEndpointPolicy(this.repo, labels, { all: () => this.identities.all() });
    return { ingressEnforced: r.ingressEnforced, egressEnforced: r.egressEnforced, entries: r.entries as PolicyEntry[], revision: r.revision };
  }

  private emit(reason: string): void {
    for (const l of this.listeners) l(reason);
  }
}
