// Peer selectors: one endpoint selector, entity or CIDR of a rule section, with a canonical key.

import { type Prefix, parsePrefix, prefixContains } from '@cilium-ts/netaddr';
import { type Entity, entityMatches } from './entity.js';
import { ReservedIdentity } from './identity.js';
import type { LabelSet } from './label-set.js';
import { LabelSourceCIDR, parseLabel } from './labels.js';
import type { Selector } from './selector.js';

/**
 * Selects peer identities. Sections select the union of their peer selectors; the
 * selector cache shares one selection per `key` between all its users.
 */
export interface PeerSelector {
  /** Canonical key: equal keys select the same identities. */
  readonly key: string;
  /** True when the identity `id` with `labels` is selected. */
  matches(id: number, labels: LabelSet): boolean;
  /** Index keys (`key=value`): every selected identity has one; undefined when it cannot be indexed. */
  indexKeys(): string[] | undefined;
  /** A human form for messages. */
  toString(): string;
}

/** JSON with object keys sorted, for canonical keys. */
export function stableStringify(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableStringify(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** A peer selector from an endpoint selector (`fromEndpoints` / `toEndpoints`). */
export class EndpointPeerSelector implements PeerSelector {
  readonly key: string;
  constructor(readonly selector: Selector) {
    this.key = `ep:${stableStringify(selector.spec)}`;
  }
  matches(_id: number, labels: LabelSet): boolean {
    return this.selector.matches(labels);
  }
  indexKeys(): string[] | undefined {
    return this.selector.indexKeys();
  }
  toString(): string {
    return this.selector.toString();
  }
}

/** A peer selector from an entity (`fromEntities` / `toEntities`). */
export class EntityPeerSelector implements PeerSelector {
  readonly key: string;
  constructor(readonly entity: Entity) {
    this.key = `entity:${entity}`;
  }
  matches(id: number, labels: LabelSet): boolean {
    return entityMatches(this.entity, id, labels);
  }
  indexKeys(): string[] | undefined {
    return undefined;
  }
  toString(): string {
    return `entity ${this.entity}`;
  }
}

const prefixCache = new WeakMap<LabelSet, Prefix[]>();

/** The prefixes of an identity's `cidr:` labels (memoized per label set). */
export function identityPrefixes(labels: LabelSet): Prefix[] {
  let out = prefixCache.get(labels);
  if (out) return out;
  out = [];
  for (const s of labels.strings) {
    if (!s.startsWith(`${LabelSourceCIDR}:`)) continue;
    const p = parsePrefix(parseLabel(s).key);
    if (typeof p !== 'string') out.push(p);
  }
  prefixCache.set(labels, out);
  return out;
}

/**
 * A peer selector from a CIDR (`fromCIDR`, `fromCIDRSet`): selects identities whose
 * `cidr:` prefix lies inside the CIDR and outside every except (longest-prefix-match
 * semantics: a /24 selects a /32 identity inside it). The whole address space of a
 * family also selects the world identities of that family.
 */
export class CIDRPeerSelector implements PeerSelector {
  readonly key: string;
  readonly text: string;
  constructor(
    readonly prefix: Prefix,
    readonly except: readonly Prefix[],
    cidr: string,
    exceptText: readonly string[],
  ) {
    this.text = exceptText.length ? `${cidr} except ${exceptText.join(',')}` : cidr;
    this.key = `cidr:${cidr}${exceptText.length ? `!${[...exceptText].sort().join(',')}` : ''}`;
  }

  /** Builds the selector from validated rule text. */
  static from(cidr: string, except: readonly string[] = []): CIDRPeerSelector {
    return new CIDRPeerSelector(parsePrefix(cidr) as Prefix, except.map((e) => parsePrefix(e) as Prefix), cidr, except);
  }

  matches(id: number, labels: LabelSet): boolean {
    const idPrefixes = identityPrefixes(labels);
    if (this.prefix.bits === 0 && idPrefixes.length === 0) {
      const world = id === ReservedIdentity.world || labels.strings.includes('reserved:world');
      const world4 = id === ReservedIdentity['world-ipv4'] || labels.has('reserved', 'world-ipv4');
      const world6 = id === ReservedIdentity['world-ipv6'] || labels.has('reserved', 'world-ipv6');
      if ((this.prefix.family === 4 && (world4 || world)) || (this.prefix.family === 6 && (world6 || world))) return true;
    }
    for (const p of idPrefixes) {
      if (prefixContains(this.prefix, p) && !this.except.some((e) => prefixContains(e, p))) return true;
    }
    return false;
  }
  indexKeys(): string[] | undefined {
    return undefined;
  }
  toString(): string {
    return this.text;
  }
}
