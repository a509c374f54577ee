// computeEndpointPolicy: the policy map entries of one endpoint, from the repository and the identities.

import { type CompiledSection, type EgressNamedPorts, type NamedPorts, type PortSpec, compileSections } from './compiled-section.js';
import { IdentityAny, type IdentityLookup } from './identity.js';
import { LabelSet } from './label-set.js';
import { type PolicyEntry, finalizeEntries } from './policy-entry.js';
import type { Repository } from './repository.js';
import { type Direction, ruleEnforces } from './rule.js';

/** The computed policy of one endpoint. */
export interface EndpointPolicy {
  ingressEnforced: boolean;
  egressEnforced: boolean;
  /** Sorted, merged entries (see PolicyEntry for the evaluation semantics). */
  entries: PolicyEntry[];
  /** The repository revision the policy was computed from. */
  revision: number;
}

/** Options of computeEndpointPolicy. */
export interface ComputeOptions {
  /** The endpoint's named ports, to resolve named ports in its ingress rules. */
  namedPorts?: NamedPorts;
  /** Named ports of all endpoints in the cluster (name -> numbers), to resolve named ports in egress rules. */
  egressNamedPorts?: EgressNamedPorts;
}

/** An identity with its labels parsed once. */
export interface ParsedIdentity {
  id: number;
  labels: LabelSet;
}

/** Parses every identity of a lookup; identities with malformed labels are skipped (they can select nothing reliably). */
export function parseIdentities(identities: IdentityLookup): ParsedIdentity[] {
  const out: ParsedIdentity[] = [];
  for (const [id, labels] of identities.all()) {
    try {
      out.push({ id, labels: new LabelSet(labels) });
    } catch {
      // A malformed label set cannot be matched; leaving it out keeps it default-denied.
    }
  }
  return out.sort((a, b) => a.id - b.id);
}

/** The entry a section contributes for one peer identity and one of its ports. */
export function portEntry(s: CompiledSection, identity: number, p: PortSpec): PolicyEntry {
  const e: PolicyEntry = { direction: s.direction, identity, protocol: p.protocol, port: p.port, deny: s.deny };
  if (p.endPort !== undefined) e.endPort = p.endPort;
  if (p.proxyPort !== undefined && !s.deny) e.proxyPort = p.proxyPort;
  return e;
}

/** Identities selected per peer selector key, shared by the sections of one computation. */
export type SelectionMemo = Map<string, readonly number[]>;

/** The identities a section selects (identity 0 alone when it selects every peer), ascending. */
export function sectionPeers(s: CompiledSection, identities: readonly ParsedIdentity[], memo: SelectionMemo = new Map()): readonly number[] {
  if (s.wildcard) return [IdentityAny];
  const lists: Array<readonly number[]> = [];
  for (const p of s.peers) {
    let ids = memo.get(p.key);
    if (!ids) {
      const found: number[] = [];
      for (const i of identities) if (p.matches(i.id, i.labels)) found.push(i.id);
      memo.set(p.key, (ids = found));
    }
    lists.push(ids);
  }
  if (lists.length === 1) return lists[0]!;
  const all = new Set<number>();
  for (const l of lists) for (const id of l) all.add(id);
  return [...all].sort((a, b) => a - b);
}

/** The entries one compiled section contributes, for the given identities. */
export function sectionEntries(s: CompiledSection, identities: readonly ParsedIdentity[], memo?: SelectionMemo): PolicyEntry[] {
  if (s.ports.length === 0) return [];
  const out: PolicyEntry[] = [];
  for (const identity of sectionPeers(s, identities, memo)) {
    for (const p of s.ports) out.push(portEntry(s, identity, p));
  }
  return out;
}

/**
 * Computes the policy of an endpoint with `endpointLabels`: whether each direction is
 * enforced (some selecting rule has a section for it, unless enableDefaultDeny turns it
 * off) and the sorted, merged entries. When a direction is not enforced but has entries,
 * a wildcard allow entry is added, so that a datapath consulting the map whenever it has
 * entries still allows by default (deny entries keep their effect). Throws
 * LabelParseError when an endpoint label is malformed.
 */
export function computeEndpointPolicy(repo: Repository, endpointLabels: string[], identities: IdentityLookup, opts: ComputeOptions = {}): EndpointPolicy {
  const ep = new LabelSet(endpointLabels);
  const selected = repo.selecting(ep);
  const ids = parseIdentities(identities);
  const memo: SelectionMemo = new Map();
  const entries: PolicyEntry[] = [];
  const enforced: Record<Direction, boolean> = { ingress: false, egress: false };
  for (const dir of ['ingress', 'egress'] as const) {
    enforced[dir] = selected.some((s) => ruleEnforces(s.rule, dir));
    const dirEntries: PolicyEntry[] = [];
    for (const s of compileSections(selected, dir, opts.namedPorts, opts.egressNamedPorts)) for (const e of sectionEntries(s, ids, memo)) dirEntries.push(e);
    if (!enforced[dir] && dirEntries.length > 0) dirEntries.push({ direction: dir, identity: IdentityAny, protocol: 0, port: 0, deny: false });
    for (const e of dirEntries) entries.push(e);
  }
  return { ingressEnforced: enforced.ingress, egressEnforced: enforced.egress, entries: finalizeEntries(entries), revision: repo.revision };
}
