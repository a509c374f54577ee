// PolicyEngine: the repository, the identities and the selector cache wired together, keeping endpoint policies current.

import { type Prefix, formatPrefix, parsePrefix } from '@cilium-ts/netaddr';
import { CIDRIdentityAllocator, CIDRIdentityError, type PrefixIdentity, cidrIdentityLabels, rulePrefixes } from './cidr-identity.js';
import type { EgressNamedPorts, NamedPorts } from './compiled-section.js';
import { isNamedPort } from './port.js';
import { EndpointPolicyHandle, type HandleContext, type PolicyDiff } from './endpoint-policy-handle.js';
import { type IdentityLookup, ReservedIdentity, type ReservedIdentityName, reservedIdentityLabels } from './identity.js';
import { LabelSet } from './label-set.js';
import { type AddOptions, Repository, type RepositoryChange } from './repository.js';
import type { Rule } from './rule.js';
import { SelectorCache } from './selector-cache.js';

/** Options of the PolicyEngine. */
export interface PolicyEngineOptions {
  /** The repository to follow (default: a new one). Changes made to it directly are picked up too. */
  repository?: Repository;
  /** Initial identities (id, labels); the reserved identities are always known. */
  identities?: Iterable<[number, string[]]>;
  /** Named ports of all endpoints in the cluster, for egress named ports (see setEgressNamedPorts). */
  egressNamedPorts?: EgressNamedPorts;
  /** The allocator of CIDR identities (default: a new one from MinLocalIdentity). */
  cidrIdentities?: CIDRIdentityAllocator;
}

/** A change of the prefix -> identity mapping the engine allocated for CIDR rules (for the ipcache). */
export interface PrefixChange {
  upserted: PrefixIdentity[];
  deleted: PrefixIdentity[];
}

/** Options of PolicyEngine.endpoint. */
export interface EndpointOptions {
  /** The endpoint's named ports, to resolve named ports in its ingress rules. */
  namedPorts?: NamedPorts;
}

/**
 * The incremental policy engine. It follows a Repository (rules added / deleted) and a
 * set of identities (set / deleted), keeps one SelectorCache shared by every endpoint,
 * and keeps each endpoint handle's entries equal to computeEndpointPolicy's without
 * recomputing them: every change ends with one diff per affected handle, delivered
 * synchronously to the handle's onChange listeners in handle creation order.
 * Single-threaded: callers serialize changes (all methods are synchronous).
 */
export class PolicyEngine {
  /** The rule repository the engine follows. */
  readonly repository: Repository;
  /** The selector cache (also the engine's identity lookup). */
  readonly selectorCache: SelectorCache;
  /** The CIDR identity allocator: one node-local identity per prefix named by a rule. */
  readonly cidrIdentities: CIDRIdentityAllocator;
  private readonly handles = new Set<EndpointPolicyHandle>();
  private readonly prefixListeners = new Set<(c: PrefixChange) => void>();
  private pendingPrefixes: PrefixChange = { upserted: [], deleted: [] };
  private egressPorts: EgressNamedPorts;
  private readonly ctx: HandleContext;
  private readonly unsubscribe: () => void;
  private depth = 0;
  /** The `fqdn:` labels of prefixes learned from DNS answers (toFQDNs), by canonical prefix. */
  private readonly learned = new Map<string, readonly string[]>();

  /** Creates an engine over `opts.repository` (or a new one) knowing `opts.identities`. */
  constructor(opts: PolicyEngineOptions = {}) {
    this.repository = opts.repository ?? new Repository();
    this.cidrIdentities = opts.cidrIdentities ?? new CIDRIdentityAllocator();
    this.egressPorts = opts.egressNamedPorts ?? {};
    const reserved = Object.keys(ReservedIdentity).map((n): [number, string[]] => [ReservedIdentity[n as ReservedIdentityName], reservedIdentityLabels(n as ReservedIdentityName)]);
    this.selectorCache = new SelectorCache([...reserved, ...(opts.identities ?? [])]);
    this.ctx = {
      cache: this.selectorCache,
      revision: () => this.repository.revision,
      egressNamedPorts: () => this.egressPorts,
      release: (h) => this.handles.delete(h),
    };
    this.unsubscribe = this.repository.subscribe((c) => this.batch(() => this.applyRepositoryChange(c)));
    this.batch(() => this.applyRepositoryChange({ added: this.repository.ruleRefs(), removed: [], revision: this.repository.revision }));
  }

  /**
   * Subscribes to changes of the prefix -> CIDR identity mapping (one call per engine
   * change that allocated or freed CIDR identities); returns the unsubscribe function.
   * Read the current mapping with cidrIdentities.entries().
   */
  onPrefixChange(fn: (change: PrefixChange) => void): () => void {
    this.prefixListeners.add(fn);
    return () => this.prefixListeners.delete(fn);
  }

  /** Every identity the engine knows (reserved ones included), as an IdentityLookup. */
  get identities(): IdentityLookup {
    return this.selectorCache;
  }

  /** Number of open endpoint handles. */
  get endpointCount(): number {
    return this.handles.size;
  }

  /** Adds or replaces identity `id`; affected endpoints get their diff before this returns. */
  setIdentity(id: number, labels: readonly string[]): void {
    this.batch(() => this.selectorCache.setIdentity(id, labels));
  }

  /** Deletes identity `id`; affected endpoints get their diff before this returns. */
  deleteIdentity(id: number): void {
    this.batch(() => this.selectorCache.deleteIdentity(id));
  }

  /**
   * Sets the named ports of all endpoints in the cluster (name -> port numbers), which
   * egress rules' named ports resolve to (as in Cilium: every number the name has on any
   * endpoint). Rules with egress named ports are compiled again; endpoints get their diff.
   */
  setEgressNamedPorts(ports: EgressNamedPorts): void {
    this.egressPorts = ports;
    this.batch(() => {
      for (const h of this.handles) h.recompileRules((r) => ruleHasEgressNamedPorts(r.rule));
    });
  }

  /** The named ports egress rules currently resolve with. */
  get egressNamedPorts(): EgressNamedPorts {
    return this.egressPorts;
  }

  /**
   * Sets the `fqdn:` labels of a prefix learned from DNS answers (`192.0.2.1/32`): its CIDR
   * identity (the one toCIDR rules naming the same prefix share) carries them beside
   * `cidr:<prefix>` and `reserved:world`, so the toFQDNs selectors with those labels select
   * it. Empty `labels` drop the prefix (its identity is freed when no rule names it).
   * Prefix listeners (the ipcache) and every affected endpoint get their change before this
   * returns. Returns the prefix's identity (undefined once dropped). Throws CIDRIdentityError
   * for a malformed prefix.
   */
  setLearnedPrefix(prefix: string, labels: readonly string[]): number | undefined {
    return this.batch(() => {
      const sorted = [...new Set(labels)].sort();
      const text = formatPrefix(this.cidrParse(prefix));
      const had = this.learned.has(text);
      if (sorted.length === 0) {
        if (!had) return undefined;
        this.learned.delete(text);
        const d = this.cidrIdentities.release(text)!;
        if (d.deleted) {
          this.selectorCache.deleteIdentity(d.identity);
          this.pendingPrefixes.deleted.push({ prefix: d.prefix, identity: d.identity });
        } else this.selectorCache.setIdentity(d.identity, cidrIdentityLabels(text));
        return undefined;
      }
      let id: number;
      if (!had) {
        const a = this.cidrIdentities.acquire(text);
        if (a.created) this.pendingPrefixes.upserted.push({ prefix: a.prefix, identity: a.identity });
        id = a.identity;
      } else id = this.cidrIdentities.get(text)!;
      const before = this.learned.get(text);
      this.learned.set(text, sorted);
      if (!before || before.join(';') !== sorted.join(';')) this.selectorCache.setIdentity(id, [...cidrIdentityLabels(text), ...sorted]);
      return id;
    });
  }

  /** The prefixes learned from DNS answers with their `fqdn:` labels. */
  learnedPrefixes(): Array<{ prefix: string; identity: number; labels: readonly string[] }> {
    return [...this.learned].map(([prefix, labels]) => ({ prefix, identity: this.cidrIdentities.get(prefix)!, labels }));
  }

  private cidrParse(prefix: string): Prefix {
    const p = parsePrefix(prefix);
    if (typeof p === 'string') throw new CIDRIdentityError(prefix, p);
    return p;
  }

  /** Adds rules to the repository (see Repository.add); returns the new revision. */
  addRules(rules: Rule[], opts: AddOptions = {}): number {
    return this.repository.add(rules, opts);
  }

  /** Deletes the rules carrying all `labels` (see Repository.deleteByLabels). */
  deleteRules(labels: string[]): { deleted: number; revision: number } {
    return this.repository.deleteByLabels(labels);
  }

  /** Deletes every rule. */
  deleteAllRules(): { deleted: number; revision: number } {
    return this.repository.deleteAll();
  }

  /**
   * Opens the policy of an endpoint with `labels` (throws LabelParseError when one is
   * malformed). The handle is current at once and stays current until close().
   */
  endpoint(labels: readonly string[], opts: EndpointOptions = {}): EndpointPolicyHandle {
    const h = new EndpointPolicyHandle(this.ctx, new LabelSet(labels), opts.namedPorts);
    for (const r of this.repository.ruleRefs()) if (h.selects(r)) h.addRule(r);
    h.flush();
    this.handles.add(h);
    return h;
  }

  /** Applies several changes as one: each endpoint gets a single diff at the end. */
  batch<T>(fn: () => T): T {
    this.depth++;
    try {
      return fn();
    } finally {
      if (--this.depth === 0) this.flush();
    }
  }

  /** Stops following the repository and closes every handle. */
  close(): void {
    this.unsubscribe();
    for (const h of [...this.handles]) h.close();
  }

  private applyRepositoryChange(c: RepositoryChange): void {
    // CIDR identities first, so that the new rules' selectors find them.
    for (const r of c.added) {
      for (const p of rulePrefixes(r.rule)) {
        const a = this.cidrIdentities.acquire(p);
        if (!a.created) continue;
        this.selectorCache.setIdentity(a.identity, a.labels);
        this.pendingPrefixes.upserted.push({ prefix: a.prefix, identity: a.identity });
      }
    }
    for (const r of c.removed) {
      for (const p of rulePrefixes(r.rule)) {
        const d = this.cidrIdentities.release(p);
        if (!d?.deleted) continue;
        this.selectorCache.deleteIdentity(d.identity);
        this.pendingPrefixes.deleted.push({ prefix: d.prefix, identity: d.identity });
      }
    }
    for (const h of this.handles) {
      for (const r of c.removed) h.removeRule(r.key);
      for (const r of c.added) if (h.selects(r)) h.addRule(r);
    }
  }

  private flush(): Map<EndpointPolicyHandle, PolicyDiff> {
    const prefixes = this.pendingPrefixes;
    this.pendingPrefixes = { upserted: [], deleted: [] };
    if (prefixes.upserted.length > 0 || prefixes.deleted.length > 0) {
      // A prefix freed and allocated again in one batch is reported as upserted only.
      const up = new Set(prefixes.upserted.map((p) => `${p.prefix}=${p.identity}`));
      const change = { upserted: prefixes.upserted, deleted: prefixes.deleted.filter((p) => !up.has(`${p.prefix}=${p.identity}`)) };
      for (const l of [...this.prefixListeners]) l(change);
    }
    const out = new Map<EndpointPolicyHandle, PolicyDiff>();
    for (const h of [...this.handles]) {
      const d = h.flush();
      if (d) out.set(h, d);
    }
    return out;
  }
}

function ruleHasEgressNamedPorts(rule: Rule): boolean {
  return [...(rule.egress ?? []), ...(rule.egressDeny ?? [])].some((s) => (s.toPorts ?? []).some((pr) => (pr.ports ?? []).some((p) => p.port !== undefined && isNamedPort(p.port))));
}
