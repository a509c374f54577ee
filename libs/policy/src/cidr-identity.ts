// CIDR identities: node-local identities for the prefixes rules name, and longest-prefix-match lookup.

import { type Prefix, formatPrefix, parseIPAddr, parsePrefix, prefixContains } from '@cilium-ts/netaddr';
import { MinLocalIdentity, ReservedIdentity } from './identity.js';
import { LabelSourceCIDR, LabelSourceReserved } from './labels.js';
import type { Rule } from './rule.js';

/** A prefix with its node-local identity (what the agent puts into the ipcache). */
export interface PrefixIdentity {
  /** Canonical prefix text (`10.0.0.0/8`, `2001:db8::/32`). */
  prefix: string;
  identity: number;
}

/** Thrown when a prefix handed to the allocator is malformed. */
export class CIDRIdentityError extends Error {
  override readonly name = 'CIDRIdentityError';
  constructor(
    readonly prefix: string,
    readonly reason: string,
  ) {
    super(`allocate CIDR identity for ${JSON.stringify(prefix)}: ${reason}; pass a prefix such as 10.0.0.0/8`);
  }
}

/** The labels of the CIDR identity of `prefix`: `cidr:<prefix>` and `reserved:world`. */
export function cidrIdentityLabels(prefix: string): string[] {
  return [`${LabelSourceCIDR}:${prefix}`, `${LabelSourceReserved}:world`];
}

/**
 * Every prefix a rule names in CIDR peers (fromCIDR / toCIDR, CIDR sets and their excepts),
 * canonical and de-duplicated, except the whole address spaces (they are the world identities).
 */
export function rulePrefixes(rule: Rule): string[] {
  const out = new Set<string>();
  const add = (c: string): void => {
    const p = parsePrefix(c);
    if (typeof p !== 'string' && p.bits > 0) out.add(formatPrefix(p));
  };
  for (const s of [...(rule.ingress ?? []), ...(rule.ingressDeny ?? [])]) {
    for (const c of s.fromCIDR ?? []) add(c);
    for (const c of s.fromCIDRSet ?? []) [c.cidr, ...(c.except ?? [])].forEach(add);
  }
  for (const s of [...(rule.egress ?? []), ...(rule.egressDeny ?? [])]) {
    for (const c of s.toCIDR ?? []) add(c);
    for (const c of s.toCIDRSet ?? []) [c.cidr, ...(c.except ?? [])].forEach(add);
  }
  return [...out].sort();
}

interface Allocation {
  prefix: Prefix;
  text: string;
  id: number;
  refs: number;
}

/**
 * Allocates node-local identities (from 1<<24) for prefixes, reference-counted, lowest
 * free number first, so the same sequence of calls always gives the same numbers. The
 * identity of a prefix carries `cidr:<prefix>` and `reserved:world`; rule CIDRs select
 * every identity whose prefix lies inside them (a /24 rule selects a /32 identity), and
 * `except` prefixes get identities of their own so that, with longest-prefix match in the
 * ipcache, addresses inside them resolve to an identity the rule does not select.
 */
export class CIDRIdentityAllocator {
  private readonly byPrefix = new Map<string, Allocation>();
  private readonly used = new Set<number>();
  private next: number;

  /** Creates an allocator handing out identities from `first` (default MinLocalIdentity). */
  constructor(first = MinLocalIdentity) {
    this.next = first;
  }

  /** Number of allocated prefixes. */
  get size(): number {
    return this.byPrefix.size;
  }

  /** Takes a reference on `prefix`; `created` is true when its identity was allocated now. */
  acquire(prefix: string): { prefix: string; identity: number; labels: string[]; created: boolean } {
    const p = this.parse(prefix);
    const text = formatPrefix(p);
    let a = this.byPrefix.get(text);
    const created = !a;
    if (!a) {
      while (this.used.has(this.next)) this.next++;
      a = { prefix: p, text, id: this.next, refs: 0 };
      this.used.add(a.id);
      this.byPrefix.set(text, a);
    }
    a.refs++;
    return { prefix: text, identity: a.id, labels: cidrIdentityLabels(text), created };
  }

  /** Drops a reference on `prefix`; `deleted` is true when its identity was freed. Undefined when not allocated. */
  release(prefix: string): { prefix: string; identity: number; deleted: boolean } | undefined {
    const text = formatPrefix(this.parse(prefix));
    const a = this.byPrefix.get(text);
    if (!a) return undefined;
    if (--a.refs > 0) return { prefix: text, identity: a.id, deleted: false };
    this.byPrefix.delete(text);
    this.used.delete(a.id);
    if (a.id < this.next) this.next = a.id;
    return { prefix: text, identity: a.id, deleted: true };
  }

  /** The identity of `prefix`, if allocated. */
  get(prefix: string): number | undefined {
    const p = parsePrefix(prefix);
    return typeof p === 'string' ? undefined : this.byPrefix.get(formatPrefix(p))?.id;
  }

  /** Every allocated prefix with its identity, by identity. */
  entries(): PrefixIdentity[] {
    return [...this.byPrefix.values()].sort((a, b) => a.id - b.id).map((a) => ({ prefix: a.text, identity: a.id }));
  }

  /**
   * The identity an address resolves to, as the ipcache's longest-prefix match would
   * resolve it among the allocated prefixes: the longest one containing it, else world
   * (`world-ipv4` / `world-ipv6` when `dualStack`). Throws CIDRIdentityError when `ip` is malformed.
   */
  lookup(ip: string, dualStack = false): number {
    const a = parseIPAddr(ip);
    if (!a) throw new CIDRIdentityError(ip, 'not an IPv4 or IPv6 address');
    const host: Prefix = { family: a.family, addr: a.addr, bits: a.family === 4 ? 32 : 128 };
    let best: Allocation | undefined;
    for (const al of this.byPrefix.values()) {
      if (prefixContains(al.prefix, host) && (!best || al.prefix.bits > best.prefix.bits)) best = al;
    }
    if (best) return best.id;
    if (!dualStack) return ReservedIdentity.world;
    return a.family === 4 ? ReservedIdentity['world-ipv4'] : ReservedIdentity['world-ipv6'];
  }

  private parse(prefix: string): Prefix {
    const p = parsePrefix(prefix);
    if (typeof p === 'string') throw new CIDRIdentityError(prefix, p);
    return p;
  }
}
