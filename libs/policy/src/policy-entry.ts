// Policy map entries: the datapath view of an endpoint's policy, their order, merging and evaluation.

import type { Direction } from './rule.js';

/**
 * One policy map entry. `identity` 0 is any peer, `protocol` 0 any protocol (6 TCP,
 * 17 UDP, 132 SCTP, 1 ICMP, 58 ICMPv6), `port` 0 any port; `endPort` (> port) makes a
 * range. For ICMP / ICMPv6 entries `port` holds the ICMP type (type 0 means any type, as
 * in Cilium). Evaluation (see evaluateEntries): a matching deny entry drops; else a
 * matching allow entry allows; else the packet is dropped when the direction is enforced
 * and allowed when it is not.
 */
export interface PolicyEntry {
  direction: Direction;
  identity: number;
  protocol: number;
  port: number;
  endPort?: number;
  deny: boolean;
  proxyPort?: number;
}

/** A packet as the policy sees it: peer identity, protocol number, destination port (or ICMP type). */
export interface PolicyPacket {
  direction: Direction;
  identity: number;
  protocol: number;
  port: number;
}

/** Total order of entries: direction (ingress first), identity, protocol, port, endPort, deny first. */
export function compareEntries(a: PolicyEntry, b: PolicyEntry): number {
  if (a.direction !== b.direction) return a.direction === 'ingress' ? -1 : 1;
  return (
    a.identity - b.identity ||
    a.protocol - b.protocol ||
    a.port - b.port ||
    (a.endPort ?? a.port) - (b.endPort ?? b.port) ||
    Number(b.deny) - Number(a.deny) ||
    (a.proxyPort ?? 0) - (b.proxyPort ?? 0)
  );
}

/** The map key of an entry (everything but the verdict). */
export function entryKey(e: PolicyEntry): string {
  return `${e.direction}/${e.identity}/${e.protocol}/${e.port}-${e.endPort ?? e.port}`;
}

/** True when `e` matches the packet. */
export function entryMatches(e: PolicyEntry, p: PolicyPacket): boolean {
  if (e.direction !== p.direction) return false;
  if (e.identity !== 0 && e.identity !== p.identity) return false;
  if (e.protocol !== 0 && e.protocol !== p.protocol) return false;
  if (e.port === 0) return true;
  return p.port >= e.port && p.port <= (e.endPort ?? e.port);
}

/** A copy of an entry with exactly the PolicyEntry fields (no proxyPort on deny entries). */
export function entryCopy(e: PolicyEntry): PolicyEntry {
  const out: PolicyEntry = { direction: e.direction, identity: e.identity, protocol: e.protocol, port: e.port, deny: e.deny };
  if (e.endPort !== undefined) out.endPort = e.endPort;
  if (e.proxyPort !== undefined && !e.deny) out.proxyPort = e.proxyPort;
  return out;
}

/** True when deny entry `d` matches every packet that allow entry `a` matches. */
function denyCovers(d: PolicyEntry, a: PolicyEntry): boolean {
  if (d.direction !== a.direction) return false;
  if (d.identity !== 0 && d.identity !== a.identity) return false;
  if (d.protocol !== 0 && d.protocol !== a.protocol) return false;
  if (d.port === 0) return true;
  if (a.port === 0) return false;
  return d.port <= a.port && (a.endPort ?? a.port) <= (d.endPort ?? d.port);
}

/** Adds e to byKey: a new key is copied in; on an existing key deny wins, and of two allows the proxy redirect (the highest listener port, deterministic). */
function mergeEntry(byKey: Map<string, PolicyEntry>, e: PolicyEntry): void {
  const k = entryKey(e);
  const prev = byKey.get(k);
  if (!prev || (e.deny && !prev.deny)) byKey.set(k, entryCopy(e));
  else if (!e.deny && !prev.deny && (e.proxyPort ?? 0) > (prev.proxyPort ?? 0)) prev.proxyPort = e.proxyPort;
}

/** Inclusive port range of an entry (port 0: every port). */
function portRange(e: PolicyEntry): [number, number] {
  return e.port === 0 ? [0, 65535] : [e.port, e.endPort ?? e.port];
}

/**
 * The entry for the traffic that both allow `a` and redirect `r` (of a's peer or of every
 * peer) match, with r's proxy port; undefined when they share no traffic.
 */
function redirectIntersection(a: PolicyEntry, r: PolicyEntry): PolicyEntry | undefined {
  if (a.direction !== r.direction || (r.identity !== 0 && r.identity !== a.identity)) return undefined;
  if (a.protocol !== 0 && r.protocol !== 0 && a.protocol !== r.protocol) return undefined;
  const [alo, ahi] = portRange(a);
  const [rlo, rhi] = portRange(r);
  const lo = Math.max(alo, rlo);
  const hi = Math.min(ahi, rhi);
  if (lo > hi) return undefined;
  const out: PolicyEntry = { direction: a.direction, identity: a.identity, protocol: r.protocol || a.protocol, port: lo, deny: false, proxyPort: r.proxyPort };
  if (lo === 0 && hi === 65535) out.port = 0;
  else if (hi > lo) out.endPort = hi;
  return out;
}

/**
 * Sorts and merges entries: identical keys become one entry (deny wins over allow), and
 * entries fully covered by another deny entry are dropped (deny takes precedence, as in Cilium).
 * An L7 redirect wins over a plain L4 allow of the same traffic (as Cilium, where the L7
 * rules of a port apply to that port for every peer they select): where an allow without a
 * proxy matches traffic that a redirect of the same peer or of every peer (identity 0)
 * matches, that traffic gets an entry of the allow's peer with the redirect's proxy port,
 * which the datapath's most-specific-first lookup (and evaluateEntries) then picks over
 * the plain allow.
 */
export function finalizeEntries(entries: Iterable<PolicyEntry>): PolicyEntry[] {
  const byKey = new Map<string, PolicyEntry>();
  for (const e of entries) mergeEntry(byKey, e);
  const redirects = [...byKey.values()].filter((e) => !e.deny && e.proxyPort !== undefined);
  if (redirects.length > 0) {
    const plain = [...byKey.values()].filter((e) => !e.deny && e.proxyPort === undefined);
    for (const a of plain) {
      for (const r of redirects) {
        const x = redirectIntersection(a, r);
        if (x) mergeEntry(byKey, x);
      }
    }
  }
  const all = [...byKey.values()];
  const denies = all.filter((e) => e.deny);
  // An entry covered by a different deny entry adds nothing (covering keys differ unless equal).
  const kept = all.filter((e) => !denies.some((d) => d !== e && denyCovers(d, e)));
  return kept.sort(compareEntries);
}

/** The outcome of evaluating entries for one packet. */
export interface EntryVerdict {
  allowed: boolean;
  /** The deciding entry (the deny, or the most specific allow); undefined for the default. */
  entry?: PolicyEntry;
}

function specificity(e: PolicyEntry): number {
  return (e.identity !== 0 ? 4 : 0) + (e.port !== 0 ? 2 : 0) + (e.protocol !== 0 ? 1 : 0);
}

/** True when allow entry `a` decides a packet over allow entry `b`: more specific, then the narrower port range, then a proxy redirect. */
function moreSpecific(a: PolicyEntry, b: PolicyEntry): boolean {
  const sa = specificity(a);
  const sb = specificity(b);
  if (sa !== sb) return sa > sb;
  const wa = a.port === 0 ? 65536 : (a.endPort ?? a.port) - a.port;
  const wb = b.port === 0 ? 65536 : (b.endPort ?? b.port) - b.port;
  if (wa !== wb) return wa < wb;
  return (a.proxyPort ?? 0) > (b.proxyPort ?? 0);
}

/**
 * Evaluates a packet against entries with the documented semantics (deny, allow, default
 * by enforcement). The deciding allow entry is the most specific one (peer identity, then
 * port, then protocol, then the narrowest port range, then a proxy redirect): when it has
 * a proxyPort the packet is redirected to that proxy listener, as the datapath's
 * longest-match lookup does, so an L7 rule on a port inside a broader L4 range is enforced.
 */
export function evaluateEntries(entries: readonly PolicyEntry[], packet: PolicyPacket, enforced: boolean): EntryVerdict {
  let allow: PolicyEntry | undefined;
  for (const e of entries) {
    if (!entryMatches(e, packet)) continue;
    if (e.deny) return { allowed: false, entry: e };
    if (!allow || moreSpecific(e, allow)) allow = e;
  }
  if (allow) return { allowed: true, entry: allow };
  return { allowed: !enforced };
}
