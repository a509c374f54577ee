// SelectorCache: peer selector -> the set of identities it selects, kept current as identities come and go.

import type { IdentityLookup } from './identity.js';
import { LabelSet } from './label-set.js';
import type { PeerSelector } from './peer-selector.js';

/** Notified when a selection it uses gains or loses identities. */
export interface SelectionUser {
  /** `added` / `removed` are ascending identity numbers; called synchronously during the identity change. */
  selectionChanged(selection: CachedSelection, added: readonly number[], removed: readonly number[]): void;
}

/** One cached selector with its current identities and users. */
export class CachedSelection {
  /** The identities currently selected. Read-only for users. */
  readonly ids = new Set<number>();
  /** The users; the selection is dropped from the cache when the last one leaves. */
  readonly users = new Set<SelectionUser>();
  constructor(readonly selector: PeerSelector) {}

  /** The selected identities, ascending. */
  sorted(): number[] {
    return [...this.ids].sort((a, b) => a - b);
  }
}

interface StoredIdentity {
  labels: string[];
  set: LabelSet;
}

/**
 * The selector cache, as in Cilium's pkg/policy: every peer selector in use maps to the
 * identities it selects; when an identity is set or deleted, only the selections indexed
 * under one of its labels (plus the unindexed ones) are re-checked, and their users are
 * told what changed. Synchronous and single-threaded: callers serialize changes.
 */
export class SelectorCache implements IdentityLookup {
  private readonly idents = new Map<number, StoredIdentity>();
  private readonly selections = new Map<string, CachedSelection>();
  private readonly index = new Map<string, Set<CachedSelection>>();
  private readonly unindexed = new Set<CachedSelection>();
  /** `key=value` -> identities carrying it, to compute new indexed selections from candidates only. */
  private readonly idIndex = new Map<string, Set<number>>();

  /** Creates a cache knowing `identities` (id, labels). */
  constructor(identities: Iterable<[number, string[]]> = []) {
    for (const [id, labels] of identities) this.store(id, labels);
  }

  /** Number of cached selections. */
  get size(): number {
    return this.selections.size;
  }

  /** Every cached selection (in use by at least one user), in the order they were first used. */
  cachedSelections(): CachedSelection[] {
    return [...this.selections.values()];
  }

  /** Every known identity with its labels, ascending (IdentityLookup). */
  all(): Array<[number, string[]]> {
    return [...this.idents.entries()].sort((a, b) => a[0] - b[0]).map(([id, s]) => [id, [...s.labels]]);
  }

  /** The labels of identity `id`, if known. */
  get(id: number): string[] | undefined {
    const s = this.idents.get(id);
    return s ? [...s.labels] : undefined;
  }

  /** The parsed labels of `id`, if known and well-formed. */
  labelSet(id: number): LabelSet | undefined {
    return this.idents.get(id)?.set;
  }

  /** Registers `user` of `selector`; returns the shared selection (computed now if new). */
  addUser(selector: PeerSelector, user: SelectionUser): CachedSelection {
    let sel = this.selections.get(selector.key);
    if (!sel) {
      sel = new CachedSelection(selector);
      const keys = selector.indexKeys();
      if (keys === undefined) {
        for (const [id, s] of this.idents) if (selector.matches(id, s.set)) sel.ids.add(id);
      } else {
        for (const k of keys) {
          for (const id of this.idIndex.get(k) ?? []) {
            const s = this.idents.get(id);
            if (s && selector.matches(id, s.set)) sel.ids.add(id);
          }
        }
      }
      this.selections.set(selector.key, sel);
      if (keys === undefined) this.unindexed.add(sel);
      else {
        for (const k of keys) {
          let set = this.index.get(k);
          if (!set) this.index.set(k, (set = new Set()));
          set.add(sel);
        }
      }
    }
    sel.users.add(user);
    return sel;
  }

  /** Unregisters `user`; the selection is dropped when it has no users left. */
  removeUser(sel: CachedSelection, user: SelectionUser): void {
    sel.users.delete(user);
    if (sel.users.size > 0 || this.selections.get(sel.selector.key) !== sel) return;
    this.selections.delete(sel.selector.key);
    this.unindexed.delete(sel);
    for (const k of sel.selector.indexKeys() ?? []) {
      const set = this.index.get(k);
      set?.delete(sel);
      if (set?.size === 0) this.index.delete(k);
    }
  }

  /**
   * Adds or replaces identity `id` and updates every affected selection, notifying its
   * users. Identities with malformed labels are kept out of every selection. Returns
   * true when the labels changed.
   */
  setIdentity(id: number, labels: readonly string[]): boolean {
    const old = this.idents.get(id);
    const sorted = [...labels].sort();
    if (old && old.labels.length === sorted.length && old.labels.every((l, i) => l === sorted[i])) return false;
    const candidates = this.candidates(old?.set);
    const now = this.store(id, sorted);
    if (now) for (const c of this.candidates(now.set)) candidates.add(c);
    for (const sel of candidates) {
      const was = sel.ids.has(id);
      const is = now !== undefined && sel.selector.matches(id, now.set);
      if (was === is) continue;
      if (is) sel.ids.add(id);
      else sel.ids.delete(id);
      for (const u of [...sel.users]) u.selectionChanged(sel, is ? [id] : [], is ? [] : [id]);
    }
    return true;
  }

  /** Deletes identity `id`, removing it from every selection (users notified). Returns true when it was known. */
  deleteIdentity(id: number): boolean {
    const old = this.idents.get(id);
    if (!old) return false;
    this.unstore(id);
    for (const sel of this.candidates(old.set)) {
      if (!sel.ids.delete(id)) continue;
      for (const u of [...sel.users]) u.selectionChanged(sel, [], [id]);
    }
    return true;
  }

  private store(id: number, labels: string[]): StoredIdentity | undefined {
    this.unstore(id);
    let set: LabelSet;
    try {
      set = new LabelSet(labels);
    } catch {
      // A malformed label set can select nothing reliably: keep it out of every selection.
      return undefined;
    }
    const s = { labels, set };
    this.idents.set(id, s);
    for (const kv of set.keyValuePairs()) {
      let ids = this.idIndex.get(kv);
      if (!ids) this.idIndex.set(kv, (ids = new Set()));
      ids.add(id);
    }
    return s;
  }

  private unstore(id: number): void {
    const old = this.idents.get(id);
    if (!old) return;
    this.idents.delete(id);
    for (const kv of old.set.keyValuePairs()) {
      const ids = this.idIndex.get(kv);
      ids?.delete(id);
      if (ids?.size === 0) this.idIndex.delete(kv);
    }
  }

  private candidates(set: LabelSet | undefined): Set<CachedSelection> {
    const out = new Set<CachedSelection>(this.unindexed);
    if (!set) return out;
    for (const kv of set.keyValuePairs()) for (const sel of this.index.get(kv) ?? []) out.add(sel);
    return out;
  }
}
