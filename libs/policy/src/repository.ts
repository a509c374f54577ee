// Repository: the set of policy rules of a node, with a revision bumped on every change.

import { LabelSet } from './label-set.js';
import { LabelParseError, sortedLabels } from './labels.js';
import type { Rule } from './rule.js';
import { validateRule } from './rule-validate.js';
import { Selector } from './selector.js';
import { IssueCollector, PolicyValidationError, joinPath } from './validation-error.js';

/** Options of Repository.add. */
export interface AddOptions {
  /** Before adding, delete every rule whose labels contain all labels of one of the new rules (rules with labels only). */
  replaceWithLabels?: boolean;
}

interface StoredRule {
  key: number;
  rule: Rule;
  labels: string[];
  selector: Selector;
}

/** A rule as the repository change feed reports it: a stable key (unique for the repository's life), the rule, its compiled selector. */
export interface RepositoryRule {
  /** Unique per stored rule, never reused; ascending in insertion order. */
  readonly key: number;
  readonly rule: Rule;
  readonly selector: Selector;
}

/** One repository change: rules added and removed, and the revision after it. */
export interface RepositoryChange {
  added: RepositoryRule[];
  removed: RepositoryRule[];
  revision: number;
}

/** Called synchronously after every repository change that added or removed rules. */
export type RepositoryListener = (change: RepositoryChange) => void;

/** A rule selected for an endpoint, with its position in the repository (for messages). */
export interface SelectedRule {
  rule: Rule;
  index: number;
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

/**
 * The policy repository: an ordered list of validated rules. Every change bumps
 * `revision`; failed changes leave it untouched. Not safe for concurrent mutation from
 * several async tasks without the caller serializing changes (plain synchronous methods).
 */
export class Repository {
  private rules: StoredRule[] = [];
  private rev = 1;
  private nextKey = 1;
  private readonly listeners = new Set<RepositoryListener>();

  /** Subscribes to changes (added / removed rules); returns the unsubscribe function. */
  subscribe(listener: RepositoryListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Every rule with its key, in repository order. */
  ruleRefs(): RepositoryRule[] {
    return this.rules.map((r) => ({ key: r.key, rule: r.rule, selector: r.selector }));
  }

  private emit(added: StoredRule[], removed: StoredRule[]): void {
    if (added.length === 0 && removed.length === 0) return;
    const ref = (r: StoredRule): RepositoryRule => ({ key: r.key, rule: r.rule, selector: r.selector });
    const change: RepositoryChange = { added: added.map(ref), removed: removed.map(ref), revision: this.rev };
    for (const l of [...this.listeners]) l(change);
  }

  /** The current revision (starts at 1, +1 per change). */
  get revision(): number {
    return this.rev;
  }

  /** Number of rules. */
  get size(): number {
    return this.rules.length;
  }

  /**
   * Adds rules (re-validated: throws PolicyValidationError and changes nothing when one is
   * invalid). Returns the new revision.
   */
  add(rules: Rule[], opts: AddOptions = {}): number {
    const stored = this.validated(rules, 'Repository.add');
    if (stored.length === 0) return this.rev;
    let removed: StoredRule[] = [];
    if (opts.replaceWithLabels) {
      const keys = stored.filter((s) => s.labels.length > 0).map((s) => s.labels);
      removed = this.rules.filter((old) => keys.some((k) => containsAll(old.labels, k)));
      this.rules = this.rules.filter((old) => !keys.some((k) => containsAll(old.labels, k)));
    }
    for (const s of stored) s.key = this.nextKey++;
    for (const s of stored) this.rules.push(s);
    ++this.rev;
    this.emit(stored, removed);
    return this.rev;
  }

  /**
   * Removes the rules with the given keys and adds `rules`, as one change (one revision,
   * one change event). The new rules are validated first: throws PolicyValidationError and
   * changes nothing when one is invalid. Unknown keys are ignored. Returns the revision and
   * the keys of the added rules (in order).
   */
  update(removeKeys: readonly number[], rules: Rule[]): { revision: number; added: number[] } {
    const stored = this.validated(rules, 'Repository.update');
    const gone = new Set(removeKeys);
    const removed = this.rules.filter((r) => gone.has(r.key));
    if (stored.length === 0 && removed.length === 0) return { revision: this.rev, added: [] };
    this.rules = this.rules.filter((r) => !gone.has(r.key));
    for (const s of stored) s.key = this.nextKey++;
    for (const s of stored) this.rules.push(s);
    ++this.rev;
    this.emit(stored, removed);
    return { revision: this.rev, added: stored.map((s) => s.key) };
  }

  /**
   * Keys of the stored rules (among `among`, all when absent) that `rules` replace under
   * replaceWithLabels: those whose labels contain all labels of one labelled new rule.
   * The new rules must be valid (their labels parse).
   */
  keysReplacedBy(rules: readonly Rule[], among?: ReadonlySet<number>): number[] {
    const keys = rules.map((r) => sortedLabels(r.labels ?? [])).filter((l) => l.length > 0);
    return this.rules.filter((old) => (!among || among.has(old.key)) && keys.some((k) => containsAll(old.labels, k))).map((old) => old.key);
  }

  /** Keys of the stored rules (among `among`, all when absent) whose labels contain all of `labels` (valid labels). */
  keysWithLabels(labels: string[], among?: ReadonlySet<number>): number[] {
    const want = sortedLabels(labels);
    return this.rules.filter((r) => (!among || among.has(r.key)) && containsAll(r.labels, want)).map((r) => r.key);
  }

  // Validates copies of rules (all or nothing), not yet keyed.
  private validated(rules: Rule[], what: string): StoredRule[] {
    const issues = new IssueCollector();
    const stored: StoredRule[] = [];
    rules.forEach((r, i) => {
      const v = validateRule(clone(r) as unknown, joinPath('', i), issues);
      if (v) stored.push({ key: 0, rule: v, labels: sortedLabels(v.labels ?? []), selector: new Selector(v.endpointSelector) });
    });
    issues.throwIfAny(what);
    return stored;
  }

  /** Deletes every rule whose labels contain all of `labels` (at least one label required; see deleteAll). */
  deleteByLabels(labels: string[]): { deleted: number; revision: number } {
    let want: string[];
    try {
      want = sortedLabels(labels);
    } catch (e) {
      if (e instanceof LabelParseError) throw new PolicyValidationError([{ path: 'labels', message: e.message }], 'Repository.deleteByLabels');
      throw e;
    }
    if (want.length === 0) {
      throw new PolicyValidationError([{ path: 'labels', message: 'at least one label is required to delete rules; use deleteAll() to delete every rule' }], 'Repository.deleteByLabels');
    }
    const removed = this.rules.filter((r) => containsAll(r.labels, want));
    this.rules = this.rules.filter((r) => !containsAll(r.labels, want));
    const deleted = removed.length;
    if (deleted > 0) this.rev++;
    this.emit([], removed);
    return { deleted, revision: this.rev };
  }

  /** Deletes every rule. */
  deleteAll(): { deleted: number; revision: number } {
    const removed = this.rules;
    this.rules = [];
    if (removed.length > 0) this.rev++;
    this.emit([], removed);
    return { deleted: removed.length, revision: this.rev };
  }

  /** Copies of the rules whose labels contain all of `labels` (all rules when none given). */
  get(labels: string[] = []): Rule[] {
    const want = sortedLabels(labels);
    return this.rules.filter((r) => containsAll(r.labels, want)).map((r) => clone(r.rule));
  }

  /**
   * The rules whose endpointSelector selects an endpoint with `labels`, in repository
   * order. The host endpoint (`reserved:host`) is selected only by node selectors, which
   * this version does not support, so no rule selects it.
   */
  selecting(labels: LabelSet): SelectedRule[] {
    if (labels.has('reserved', 'host')) return [];
    const out: SelectedRule[] = [];
    this.rules.forEach((r, index) => {
      if (r.selector.matches(labels)) out.push({ rule: r.rule, index });
    });
    return out;
  }

  /** The JSON form: {revision, rules}. */
  toJSON(): { revision: number; rules: Rule[] } {
    return { revision: this.rev, rules: this.rules.map((r) => clone(r.rule)) };
  }

  /** Rebuilds a repository from its JSON form (validated; throws PolicyValidationError). */
  static fromJSON(json: { revision?: number; rules?: Rule[] }): Repository {
    const repo = new Repository();
    repo.add(json.rules ?? []);
    if (typeof json.revision === 'number' && Number.isInteger(json.revision) && json.revision > repo.rev) repo.rev = json.revision;
    return repo;
  }
}

function containsAll(have: readonly string[], want: readonly string[]): boolean {
  return want.every((w) => have.includes(w));
}
