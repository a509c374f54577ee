// Numeric security identities: the reserved ones, the ranges, and a lookup of labels by id.

import { LabelSourceCIDR, LabelSourceReserved, parseLabel } from './labels.js';

/** Reserved identities, as in Cilium (docs/CONTRACTS.md). */
export const ReservedIdentity = {
  host: 1,
  world: 2,
  unmanaged: 3,
  health: 4,
  init: 5,
  'remote-node': 6,
  'kube-apiserver': 7,
  ingress: 8,
  'world-ipv4': 9,
  'world-ipv6': 10,
} as const;

/** Name of a reserved identity (`host`, `world`, ...). */
export type ReservedIdentityName = keyof typeof ReservedIdentity;

/** First identity allocated cluster-wide (in the kvstore). */
export const MinClusterIdentity = 256;
/** First node-local identity (CIDR identities). */
export const MinLocalIdentity = 1 << 24;

/** Identity 0: the wildcard "any peer" in policy entries. */
export const IdentityAny = 0;

/** The labels of a reserved identity: `reserved:<name>`. */
export function reservedIdentityLabels(name: ReservedIdentityName): string[] {
  return [`${LabelSourceReserved}:${name}`];
}

/** The name of reserved identity `id`, or undefined when it is not reserved. */
export function reservedIdentityName(id: number): ReservedIdentityName | undefined {
  for (const [name, v] of Object.entries(ReservedIdentity)) if (v === id) return name as ReservedIdentityName;
  return undefined;
}

/** Narrow view of the identity allocator: every known identity with its labels (reserved ones included). */
export interface IdentityLookup {
  /** All identities with their labels (`source:key=value`). */
  all(): Iterable<[number, string[]]>;
}

/** An in-memory IdentityLookup that always includes the reserved identities. */
export class StaticIdentityLookup implements IdentityLookup {
  private readonly byId = new Map<number, string[]>();

  /** Creates a lookup holding the reserved identities plus `entries`. */
  constructor(entries: Iterable<[number, string[]]> = []) {
    for (const [name, id] of Object.entries(ReservedIdentity)) {
      this.byId.set(id, reservedIdentityLabels(name as ReservedIdentityName));
    }
    for (const [id, labels] of entries) this.set(id, labels);
  }

  /** Adds or replaces identity `id`. */
  set(id: number, labels: string[]): void {
    this.byId.set(id, [...labels]);
  }

  /** Removes identity `id`. */
  delete(id: number): void {
    this.byId.delete(id);
  }

  /** The labels of `id`, if known. */
  get(id: number): string[] | undefined {
    return this.byId.get(id);
  }

  /** All identities in ascending order. */
  all(): Iterable<[number, string[]]> {
    return [...this.byId.entries()].sort((a, b) => a[0] - b[0]);
  }
}

/**
 * True when an identity with these labels is outside the cluster ("world"): one of the
 * world reserved identities, or a CIDR identity (a `cidr:` label or the local range).
 */
export function isWorldIdentity(id: number, labels: readonly string[]): boolean {
  if (id === ReservedIdentity.world || id === ReservedIdentity['world-ipv4'] || id === ReservedIdentity['world-ipv6']) {
    return true;
  }
  if (id >= MinLocalIdentity) return true;
  for (const s of labels) {
    let l;
    try {
      l = parseLabel(s);
    } catch {
      continue;
    }
    if (l.source === LabelSourceCIDR) return true;
    if (l.source === LabelSourceReserved && (l.key === 'world' || l.key === 'world-ipv4' || l.key === 'world-ipv6')) {
      return true;
    }
  }
  return false;
}
