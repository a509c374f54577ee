// toFQDNs in the agent (Cilium's NameManager): the DNS proxy hands over each allowed answer
// (DnsMappings); the IPs go into the fqdn cache with their TTL (raised to --tofqdns-min-ttl)
// and every IP the cache knows gets, through the policy engine, a CIDR identity carrying
// one `fqdn:` label per toFQDNs selector matching one of its names. The engine's change
// reaches the ipcache and the endpoints' policy maps synchronously, so once learn()
// returns the proxy may release the answer. Expiry drops the IPs again (the identity
// goes when no rule names its prefix). The cache is persisted in the state directory and
// restored at start (entries still valid), as Cilium restores its DNS cache.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Logger } from '@cilium-ts/process';
import { type DNSRule, fqdnLabelsFor, fqdnSelectorLabel, ruleFqdnSelectors, type PolicyEngine } from '@cilium-ts/policy';
import { writeFileAtomic } from '../atomic-file.js';
import { FqdnCache, type FqdnCacheEntry, type FqdnCacheFilter } from './fqdn-cache.js';

/** A caller's mistake in an fqdn request (INVALID_ARGUMENT). */
export class FqdnInputError extends Error {
  override readonly name = 'FqdnInputError';
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

/** What the manager needs. */
export interface FqdnNameManagerDeps {
  engine: Pick<PolicyEngine, 'setLearnedPrefix' | 'repository'>;
  /** --tofqdns-min-ttl, seconds (0: the answer's TTL as it is). */
  minTtlSeconds: number;
  /** The persisted cache (state dir); undefined: not persisted. */
  stateFile?: string;
  now?: () => number;
  logger: Logger;
}

/** One answer the proxy learned. */
export interface LearnedAnswer {
  endpointId: number;
  name: string;
  ips: readonly string[];
  ttl: number;
}

const MaxNameLength = 255;
const NAME_RE = /^[-a-z0-9_.]+$/;

/** See the file comment. */
export class FqdnNameManager {
  readonly cache = new FqdnCache();
  private selectors: DNSRule[] = [];
  private selectorKey = '';
  private timer: NodeJS.Timeout | undefined;
  private saving: Promise<void> = Promise.resolve();
  private dirty = false;
  private stopped = false;
  private readonly now: () => number;

  constructor(private readonly d: FqdnNameManagerDeps) {
    this.now = d.now ?? Date.now;
    this.readSelectors();
  }

  /** Checks an answer from the proxy; throws FqdnInputError naming the field. */
  static check(a: LearnedAnswer): void {
    if (!Number.isInteger(a.endpointId) || a.endpointId <= 0) throw new FqdnInputError('endpoint_id', `${a.endpointId} is not an endpoint id`);
    const n = a.name.toLowerCase();
    if (n.length === 0 || n.length > MaxNameLength || !NAME_RE.test(n)) throw new FqdnInputError('name', `${JSON.stringify(a.name)} is not a DNS name`);
    if (a.ips.length === 0) throw new FqdnInputError('ips', 'no address given');
    for (const ip of a.ips) if (isIP(ip) === 0) throw new FqdnInputError('ips', `${JSON.stringify(ip)} is not an IPv4 or IPv6 address`);
    if (!Number.isInteger(a.ttl) || a.ttl < 0) throw new FqdnInputError('ttl', `${a.ttl} is not a TTL in seconds`);
  }

  /**
   * Records an allowed answer and puts its IPs into the policy (ipcache and policy maps)
   * before returning. Throws FqdnInputError for a malformed answer (nothing changes).
   */
  learn(a: LearnedAnswer): void {
    FqdnNameManager.check(a);
    const ttl = Math.max(a.ttl, this.d.minTtlSeconds);
    const ips = this.cache.update(a.endpointId, a.name, a.ips, ttl, this.now());
    this.sync(ips);
    this.changed();
  }

  /** The cache entries matching `filter`. */
  list(filter: FqdnCacheFilter = {}): FqdnCacheEntry[] {
    return this.cache.list(filter);
  }

  /** Removes the entries matching `filter` and their IPs from the policy; returns how many went. */
  clean(filter: FqdnCacheFilter = {}): number {
    const before = this.cache.size;
    const ips = this.cache.clean(filter);
    this.sync(ips);
    this.changed();
    return before - this.cache.size;
  }

  /** Forgets an endpoint's entries (it was deleted). */
  forgetEndpoint(endpointId: number): void {
    if (this.cache.list({ endpointId }).length > 0) this.clean({ endpointId });
  }

  /** The toFQDNs selectors of the policy changed (or may have): every IP's labels again. */
  policyChanged(): void {
    if (!this.readSelectors()) return;
    this.sync(this.cache.ips());
  }

  /** Loads the persisted cache (entries not yet expired) and puts its IPs into the policy. */
  restore(): number {
    if (!this.d.stateFile) return 0;
    let entries: FqdnCacheEntry[];
    try {
      const doc = JSON.parse(readFileSync(this.d.stateFile, 'utf8')) as { entries?: FqdnCacheEntry[] };
      entries = Array.isArray(doc.entries) ? doc.entries : [];
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.d.logger.warn('fqdn cache not restored: unreadable', { file: this.d.stateFile, error: (err as Error).message });
      return 0;
    }
    const now = this.now();
    const valid = entries.filter((e) => {
      try {
        FqdnNameManager.check({ endpointId: e.endpointId, name: e.name, ips: [e.ip], ttl: e.ttl });
        return typeof e.expiresMs === 'number' && e.expiresMs > now && typeof e.lookupTimeMs === 'number';
      } catch {
        return false;
      }
    });
    this.cache.restore(valid.map((e) => ({ endpointId: e.endpointId, name: e.name, ip: e.ip, ttl: e.ttl, lookupTimeMs: e.lookupTimeMs, expiresMs: e.expiresMs, source: 'lookup' })));
    this.sync(this.cache.ips());
    this.arm();
    return valid.length;
  }

  /** Stops the expiry timer; waits for the last write of the cache file. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.saving;
  }

  /** Labels of `ip` from the names it is known by (for tests and Hubble). */
  labelsOf(ip: string): string[] {
    const out = new Set<string>();
    for (const n of this.cache.namesOf(ip)) for (const l of fqdnLabelsFor(this.selectors, n)) out.add(l);
    return [...out].sort();
  }

  private readSelectors(): boolean {
    const all = new Map<string, DNSRule>();
    for (const r of this.d.engine.repository.ruleRefs()) for (const s of ruleFqdnSelectors(r.rule)) all.set(fqdnSelectorLabel(s), s);
    const key = [...all.keys()].sort().join(';');
    if (key === this.selectorKey) return false;
    this.selectorKey = key;
    this.selectors = [...all.values()];
    return true;
  }

  private sync(ips: readonly string[]): void {
    for (const ip of ips) this.d.engine.setLearnedPrefix(`${ip}/${isIP(ip) === 6 ? 128 : 32}`, this.labelsOf(ip));
  }

  private expireNow(): void {
    this.timer = undefined;
    const ips = this.cache.expire(this.now());
    if (ips.length > 0) {
      this.d.logger.info('fqdn cache: entries expired', { ips: ips.length });
      this.sync(ips);
      this.changed();
    } else this.arm();
  }

  private arm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const next = this.cache.nextExpiryMs();
    if (next === undefined || this.stopped) return;
    // setTimeout's bound (2^31-1 ms); a later expiry re-arms on wake-up.
    this.timer = setTimeout(() => this.expireNow(), Math.min(Math.max(0, next - this.now()), 0x7fffffff));
    this.timer.unref();
  }

  private changed(): void {
    this.arm();
    if (!this.d.stateFile || this.dirty) return;
    this.dirty = true;
    const file = this.d.stateFile;
    this.saving = this.saving.then(async () => {
      this.dirty = false;
      try {
        await writeFileAtomic(file, JSON.stringify({ entries: this.cache.list() }));
      } catch (err) {
        this.d.logger.warn('fqdn cache not persisted', { file, error: (err as Error).message });
      }
    });
  }
}
