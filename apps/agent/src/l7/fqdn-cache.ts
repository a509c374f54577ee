// The agent's DNS cache for toFQDNs (Cilium's per-endpoint DNSCache): which IPs each
// endpoint learned for which name from allowed DNS answers, until when. Pure: the clock
// is passed in; the owner (fqdn-name-manager.ts) turns its content into identities.

/** One (endpoint, name, IP) entry. */
export interface FqdnCacheEntry {
  endpointId: number;
  /** Lower case, trailing dot (`allowed.example.`). */
  name: string;
  ip: string;
  /** The TTL the entry got (the answer's, raised to the minimum TTL), seconds. */
  ttl: number;
  /** When the answer was seen, ms since the epoch. */
  lookupTimeMs: number;
  /** When the entry expires, ms since the epoch. */
  expiresMs: number;
  /** Where it came from: `lookup` (an answer through the DNS proxy). */
  source: 'lookup';
}

/** Filters of list / clean: every given field must match. */
export interface FqdnCacheFilter {
  endpointId?: number;
  /** A name (case and trailing dot ignored) where `*` matches any run of name characters, as `cilium fqdn cache list --matchpattern`. */
  matchPattern?: string;
}

/** Lower case with a trailing dot. */
export function canonicalName(name: string): string {
  const l = name.toLowerCase();
  return l.endsWith('.') ? l : `${l}.`;
}

function patternRegex(p: string): RegExp {
  const body = canonicalName(p)
    .split('*')
    .map((s) => s.replace(/[.\\+?^${}()|[\]-]/g, '\\$&'))
    .join('[-a-z0-9_.]*');
  return new RegExp(`^${body}$`);
}

const entryKey = (endpointId: number, name: string, ip: string): string => `${endpointId}|${name}|${ip}`;

/** See the file comment. */
export class FqdnCache {
  private readonly entries = new Map<string, FqdnCacheEntry>();

  /** Number of entries. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Records an answer: each IP of `name` for `endpointId` lives `ttl` seconds from `nowMs`
   * (an entry already there gets the later expiry). Returns the IPs.
   */
  update(endpointId: number, name: string, ips: readonly string[], ttl: number, nowMs: number): string[] {
    const n = canonicalName(name);
    for (const ip of ips) {
      const k = entryKey(endpointId, n, ip);
      const expiresMs = nowMs + ttl * 1000;
      const old = this.entries.get(k);
      if (old && old.expiresMs > expiresMs) continue;
      this.entries.set(k, { endpointId, name: n, ip, ttl, lookupTimeMs: nowMs, expiresMs, source: 'lookup' });
    }
    return [...ips];
  }

  /** Removes the entries expired at `nowMs` (expiry <= now); returns their IPs. */
  expire(nowMs: number): string[] {
    const out = new Set<string>();
    for (const [k, e] of this.entries) {
      if (e.expiresMs <= nowMs) {
        this.entries.delete(k);
        out.add(e.ip);
      }
    }
    return [...out];
  }

  /** Removes the entries matching `filter` (all when empty); returns their IPs. */
  clean(filter: FqdnCacheFilter = {}): string[] {
    const out = new Set<string>();
    for (const e of this.list(filter)) {
      this.entries.delete(entryKey(e.endpointId, e.name, e.ip));
      out.add(e.ip);
    }
    return [...out];
  }

  /** The earliest expiry, or undefined when empty. */
  nextExpiryMs(): number | undefined {
    let min: number | undefined;
    for (const e of this.entries.values()) if (min === undefined || e.expiresMs < min) min = e.expiresMs;
    return min;
  }

  /** The names each IP is currently known by (over every endpoint). */
  namesOf(ip: string): string[] {
    const out = new Set<string>();
    for (const e of this.entries.values()) if (e.ip === ip) out.add(e.name);
    return [...out].sort();
  }

  /** Every IP in the cache. */
  ips(): string[] {
    return [...new Set([...this.entries.values()].map((e) => e.ip))];
  }

  /** The entries matching `filter`, by endpoint, name, IP. */
  list(filter: FqdnCacheFilter = {}): FqdnCacheEntry[] {
    const re = filter.matchPattern ? patternRegex(filter.matchPattern) : undefined;
    return [...this.entries.values()]
      .filter((e) => (filter.endpointId === undefined || e.endpointId === filter.endpointId) && (!re || re.test(e.name)))
      .sort((a, b) => a.endpointId - b.endpointId || a.name.localeCompare(b.name) || a.ip.localeCompare(b.ip));
  }

  /** Adds entries as they were (restore after a restart). */
  restore(entries: readonly FqdnCacheEntry[]): void {
    for (const e of entries) this.entries.set(entryKey(e.endpointId, e.name, e.ip), { ...e, name: canonicalName(e.name) });
  }
}
