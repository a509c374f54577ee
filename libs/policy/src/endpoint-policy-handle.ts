// EndpointPolicyHandle: one endpoint's policy map state, kept current incrementally by the PolicyEngine.

import { type CompiledSection, type EgressNamedPorts, type NamedPorts, compileSections } from './compiled-section.js';
import { IdentityAny } from './identity.js';
import type { LabelSet } from './label-set.js';
import { type EndpointPolicy, portEntry } from './endpoint-policy.js';
import type { L7Rules } from './l7.js';
import type { L7Policy } from './proxy-port.js';
import { type PolicyEntry, compareEntries, entryCopy, evaluateEntries, finalizeEntries } from './policy-entry.js';
import type { RepositoryRule } from './repository.js';
import { type Direction, ruleEnforces } from './rule.js';
import type { CachedSelection, SelectionUser, SelectorCache } from './selector-cache.js';

/** What changed in an endpoint's policy: entries to delete, entries to add or overwrite, and the enforcement after it. */
export interface PolicyDiff {
  /** Entries no longer present (apply first). An entry whose verdict changed is in both lists. */
  removed: PolicyEntry[];
  /** Entries new or changed (apply after `removed`). */
  added: PolicyEntry[];
  ingressEnforced: boolean;
  egressEnforced: boolean;
  /** True when ingressEnforced / egressEnforced changed. */
  enforcementChanged: boolean;
  /** The repository revision the policy now reflects. */
  revision: number;
}

/** Called with every non-empty diff, synchronously at the end of the engine change that caused it. */
export type PolicyDiffListener = (diff: PolicyDiff) => void;

/** The part of the engine a handle needs (kept narrow so handles can be tested on their own). */
export interface HandleContext {
  readonly cache: SelectorCache;
  egressNamedPorts(): EgressNamedPorts;
  revision(): number;
  release(handle: EndpointPolicyHandle): void;
}

interface SectionState {
  uid: string;
  section: CompiledSection;
  selections: CachedSelection[];
  /** Peer identity -> number of this section's selections that contain it. */
  peers: Map<number, number>;
}

const DIRECTIONS: readonly Direction[] = ['ingress', 'egress'];

function entryId(e: PolicyEntry): string {
  return `${e.direction}/${e.identity}/${e.protocol}/${e.port}-${e.endPort ?? e.port}/${e.deny ? 'D' : 'A'}/${e.proxyPort ?? 0}`;
}

/**
 * The policy of one endpoint (one label set), as the PolicyEngine keeps it. Its state is
 * the raw contributions of every selected rule section, grouped by peer identity; a
 * change re-finalizes only the identity groups it touched (the wildcard group 0 carries
 * the denies every group depends on). Entries equal computeEndpointPolicy's.
 */
export class EndpointPolicyHandle implements SelectionUser {
  /** The endpoint's labels. */
  readonly labels: LabelSet;
  private readonly namedPorts: NamedPorts;
  private readonly rules = new Map<number, { ref: RepositoryRule; states: SectionState[] }>();
  private readonly enforcing: Record<Direction, number> = { ingress: 0, egress: 0 };
  private readonly rawCount: Record<Direction, number> = { ingress: 0, egress: 0 };
  private readonly raw = new Map<number, Map<string, PolicyEntry[]>>();
  private readonly bySelection = new Map<CachedSelection, Set<SectionState>>();
  private readonly final = new Map<number, PolicyEntry[]>();
  private readonly dirty = new Set<number>();
  private allDirty = false;
  private sortedCache: PolicyEntry[] | undefined;
  private enforced: Record<Direction, boolean> = { ingress: false, egress: false };
  private synthetic: Record<Direction, boolean> = { ingress: false, egress: false };
  private readonly listeners = new Set<PolicyDiffListener>();
  private readonly l7Of = new WeakMap<PolicyEntry, L7Rules>();
  private closed = false;

  /** Engine-internal: use PolicyEngine.endpoint(). */
  constructor(
    private readonly ctx: HandleContext,
    labels: LabelSet,
    namedPorts: NamedPorts = {},
  ) {
    this.labels = labels;
    this.namedPorts = namedPorts;
  }

  /** The current entries, sorted and merged (as computeEndpointPolicy returns them). */
  entries(): PolicyEntry[] {
    if (!this.sortedCache) {
      const all: PolicyEntry[] = [];
      for (const list of this.final.values()) for (const e of list) all.push(e);
      this.sortedCache = all.sort(compareEntries);
    }
    return this.sortedCache.map((e) => ({ ...e }));
  }

  /** True when ingress is in default deny. */
  get ingressEnforced(): boolean {
    return this.enforced.ingress;
  }

  /** True when egress is in default deny. */
  get egressEnforced(): boolean {
    return this.enforced.egress;
  }

  /** The policy in computeEndpointPolicy's shape. */
  policy(): EndpointPolicy {
    return { ingressEnforced: this.enforced.ingress, egressEnforced: this.enforced.egress, entries: this.entries(), revision: this.ctx.revision() };
  }

  /**
   * The L7 policy the proxy enforces for traffic from / to peer `identity` on
   * `protocol`/`port` in `direction`, or undefined when such traffic is not redirected
   * (denied, or allowed without a proxy). The rules are those of every allow on the same
   * port (and range), or on every port (L3-only), for this peer or for all peers; when one
   * of them has no L7 rules the peer may send anything there (`allowAll`), as in Cilium,
   * but other peers keep their rules.
   */
  l7Policy(direction: Direction, identity: number, protocol: number, port: number): L7Policy | undefined {
    const enforced = this.enforced[direction];
    const v = evaluateEntries(this.entries(), { direction, identity, protocol, port }, enforced);
    const e = v.entry;
    if (!v.allowed || !e || e.proxyPort === undefined) return undefined;
    // As Cilium's wildcardL3L4Rules: allows on the same port (and range), and L3-only allows, of this peer or of all peers.
    const sameKey = (r: PolicyEntry): boolean =>
      !r.deny &&
      r.direction === direction &&
      ((r.protocol === e.protocol && r.port === e.port && (r.endPort ?? r.port) === (e.endPort ?? e.port)) || (r.protocol === 0 && r.port === 0));
    const contributors = [...(this.rawOf(e.identity) ?? []), ...(e.identity !== IdentityAny ? (this.rawOf(IdentityAny) ?? []) : [])].filter(sameKey);
    const out: L7Policy = { proxyPort: e.proxyPort, entry: e, allowAll: false, rules: {} };
    for (const c of contributors) {
      const l7 = this.l7Of.get(c);
      if (!l7) {
        out.allowAll = true;
        continue;
      }
      for (const kind of ['http', 'dns', 'kafka'] as const) {
        const list = l7[kind];
        if (!list) continue;
        if (list.length === 0) out.allowAll = true;
        const have = (out.rules[kind] ??= []) as unknown[];
        for (const r of list) if (!have.some((x) => JSON.stringify(x) === JSON.stringify(r))) have.push(r);
      }
    }
    return out;
  }

  /** Subscribes to diffs; returns the unsubscribe function. */
  onChange(fn: PolicyDiffListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Releases the handle: its selections leave the selector cache and it gets no more updates. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const key of [...this.rules.keys()]) this.removeRule(key);
    this.listeners.clear();
    this.ctx.release(this);
  }

  /** True once close() was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Engine-internal: true when the handle holds rule `key`. */
  hasRule(key: number): boolean {
    return this.rules.has(key);
  }

  /** Engine-internal: true when the rule selects this endpoint (the host endpoint is never selected). */
  selects(r: RepositoryRule): boolean {
    return !this.labels.has('reserved', 'host') && r.selector.matches(this.labels);
  }

  /** Engine-internal: adds the contributions of a rule known to select this endpoint. */
  addRule(r: RepositoryRule): void {
    if (this.rules.has(r.key)) return;
    const states: SectionState[] = [];
    for (const dir of DIRECTIONS) {
      if (ruleEnforces(r.rule, dir)) this.enforcing[dir]++;
      compileSections([{ rule: r.rule, index: r.key }], dir, this.namedPorts, this.ctx.egressNamedPorts()).forEach((section, i) => {
        const st: SectionState = { uid: `${r.key}/${dir}/${section.deny ? 'd' : 'a'}/${i}`, section, selections: [], peers: new Map() };
        states.push(st);
        if (section.ports.length === 0) return;
        if (section.wildcard) {
          this.addPeer(st, IdentityAny);
          return;
        }
        const seen = new Set<string>();
        for (const p of section.peers) {
          if (seen.has(p.key)) continue;
          seen.add(p.key);
          const sel = this.ctx.cache.addUser(p, this);
          st.selections.push(sel);
          let users = this.bySelection.get(sel);
          if (!users) this.bySelection.set(sel, (users = new Set()));
          users.add(st);
          for (const id of sel.ids) this.peerUp(st, id);
        }
      });
    }
    this.rules.set(r.key, { ref: r, states });
  }

  /** Engine-internal: compiles again the rules `pred` picks (after a change of what they depend on, e.g. named ports). */
  recompileRules(pred: (r: RepositoryRule) => boolean): void {
    for (const { ref } of [...this.rules.values()]) {
      if (!pred(ref)) continue;
      this.removeRule(ref.key);
      this.addRule(ref);
    }
  }

  /** Engine-internal: removes every contribution of rule `key`. */
  removeRule(key: number): void {
    const entry = this.rules.get(key);
    if (!entry) return;
    this.rules.delete(key);
    const { ref, states } = entry;
    const rule = ref.rule;
    for (const st of states) {
      for (const id of [...st.peers.keys()]) this.removePeer(st, id);
      for (const sel of st.selections) {
        const users = this.bySelection.get(sel);
        users?.delete(st);
        if (users?.size === 0) {
          this.bySelection.delete(sel);
          this.ctx.cache.removeUser(sel, this);
        }
      }
    }
    for (const dir of DIRECTIONS) if (ruleEnforces(rule, dir)) this.enforcing[dir]--;
  }

  /** Engine-internal (SelectionUser): a selection gained or lost identities. */
  selectionChanged(sel: CachedSelection, added: readonly number[], removed: readonly number[]): void {
    for (const st of this.bySelection.get(sel) ?? []) {
      for (const id of added) this.peerUp(st, id);
      for (const id of removed) this.peerDown(st, id);
    }
  }

  private peerUp(st: SectionState, id: number): void {
    const n = st.peers.get(id) ?? 0;
    if (n === 0) this.addPeer(st, id);
    else st.peers.set(id, n + 1);
  }

  private peerDown(st: SectionState, id: number): void {
    const n = st.peers.get(id) ?? 0;
    if (n <= 1) this.removePeer(st, id);
    else st.peers.set(id, n - 1);
  }

  private addPeer(st: SectionState, id: number): void {
    st.peers.set(id, 1);
    const s = st.section;
    const list: PolicyEntry[] = [];
    for (const p of s.ports) {
      const e = portEntry(s, id, p);
      if (p.l7 && !s.deny) this.l7Of.set(e, p.l7);
      list.push(e);
    }
    let group = this.raw.get(id);
    if (!group) this.raw.set(id, (group = new Map()));
    group.set(st.uid, list);
    this.rawCount[s.direction] += list.length;
    this.touch(id, s);
  }

  private removePeer(st: SectionState, id: number): void {
    st.peers.delete(id);
    const group = this.raw.get(id);
    const list = group?.get(st.uid);
    if (!group || !list) return;
    group.delete(st.uid);
    if (group.size === 0) this.raw.delete(id);
    this.rawCount[st.section.direction] -= list.length;
    this.touch(id, st.section);
  }

  /** Marks group id for re-finalizing; the wildcard group's denies and L7 redirects reach into every group. */
  private touch(id: number, s: CompiledSection): void {
    this.dirty.add(id);
    if (id === IdentityAny && (s.deny || s.ports.some((p) => p.proxyPort !== undefined))) this.allDirty = true;
  }

  /** Engine-internal: re-finalizes the touched identity groups and notifies listeners of the diff. */
  flush(): PolicyDiff | undefined {
    const ei = this.enforcing.ingress > 0;
    const ee = this.enforcing.egress > 0;
    const si = !ei && this.rawCount.ingress > 0;
    const se = !ee && this.rawCount.egress > 0;
    // Nothing touched since the last flush: no work, no allocation.
    if (this.dirty.size === 0 && !this.allDirty && ei === this.enforced.ingress && ee === this.enforced.egress && si === this.synthetic.ingress && se === this.synthetic.egress) {
      return undefined;
    }
    const enforced = { ingress: ei, egress: ee };
    const synthetic = { ingress: si, egress: se };
    if (synthetic.ingress !== this.synthetic.ingress || synthetic.egress !== this.synthetic.egress) this.dirty.add(IdentityAny);
    this.synthetic = synthetic;
    const enforcementChanged = enforced.ingress !== this.enforced.ingress || enforced.egress !== this.enforced.egress;
    this.enforced = enforced;
    const groups = this.allDirty ? new Set([...this.dirty, ...this.final.keys(), ...this.raw.keys()]) : this.dirty;
    // The wildcard group's entries that act on other groups: denies, and L7 redirects (which win over a peer's plain allow).
    const zeroShared = groups.size > 0 ? (this.rawOf(IdentityAny) ?? []).filter((e) => e.deny || e.proxyPort !== undefined) : [];
    const removed: PolicyEntry[] = [];
    const added: PolicyEntry[] = [];
    for (const id of [...groups].sort((a, b) => a - b)) {
      const next = this.finalizeGroup(id, zeroShared);
      const prev = this.final.get(id) ?? [];
      const prevIds = new Set(prev.map(entryId));
      const nextIds = new Set(next.map(entryId));
      for (const e of prev) if (!nextIds.has(entryId(e))) removed.push(e);
      for (const e of next) if (!prevIds.has(entryId(e))) added.push(e);
      if (next.length > 0) this.final.set(id, next);
      else this.final.delete(id);
    }
    this.dirty.clear();
    this.allDirty = false;
    if (removed.length === 0 && added.length === 0 && !enforcementChanged) return undefined;
    this.sortedCache = undefined;
    const diff: PolicyDiff = {
      removed: removed.sort(compareEntries),
      added: added.sort(compareEntries),
      ingressEnforced: enforced.ingress,
      egressEnforced: enforced.egress,
      enforcementChanged,
      revision: this.ctx.revision(),
    };
    for (const l of [...this.listeners]) l(diff);
    return diff;
  }

  private rawOf(id: number): PolicyEntry[] | undefined {
    const group = this.raw.get(id);
    if (!group) return undefined;
    const out: PolicyEntry[] = [];
    for (const list of group.values()) for (const e of list) out.push(e);
    return out;
  }

  private finalizeGroup(id: number, zeroShared: readonly PolicyEntry[]): PolicyEntry[] {
    const own = this.rawOf(id) ?? [];
    if (id === IdentityAny) {
      for (const dir of DIRECTIONS) {
        if (this.synthetic[dir]) own.push({ direction: dir, identity: IdentityAny, protocol: 0, port: 0, deny: false });
      }
      return own.length ? finalizeEntries(own) : [];
    }
    if (own.length === 0) return [];
    // One entry and no wildcard deny or redirect: nothing to merge.
    if (own.length === 1 && zeroShared.length === 0) return [entryCopy(own[0]!)];
    for (const d of zeroShared) own.push(d);
    return finalizeEntries(own).filter((e) => e.identity === id);
  }
}
