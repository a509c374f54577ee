// Wiring of the agent's L7 redirects: which changes rebuild the proxy's policy.
import type { Logger } from '@cilium-ts/process';
import type { IdentityCache } from '../identity-cache.js';
import type { PolicyStore } from '../policy-store.js';
import { join } from 'node:path';
import { DnsMappingClient } from './dns-mapping-client.js';
import { FqdnNameManager } from './fqdn-name-manager.js';
import { L7Redirects, type L7RedirectsDeps } from './l7-redirects.js';

/** The agent's handle on its L7 redirects (inert without a proxy address). */
export interface L7RedirectsHandle {
  start(): void;
  schedule(): void;
  rebuild(): void;
  stop(): void;
  /** toFQDNs: the DNS cache and the identities of the IPs learned (l7/fqdn-name-manager.ts). */
  fqdn: FqdnNameManager;
}

/** Dependencies of startL7Redirects. */
export interface StartL7RedirectsDeps {
  /** The proxy's gRPC address; empty or undefined: no proxy (L7-covered traffic stays dropped). */
  address: string | undefined;
  datapath: L7RedirectsDeps['datapath'];
  policy: PolicyStore;
  identities: IdentityCache;
  endpoints: () => Array<{ id: number; identity: number; ipv4: string; ipv6?: string; labels: string[] }>;
  log: Logger;
  /** --tofqdns-min-ttl, seconds (default 0: the answers' TTLs). */
  minTtlSeconds?: number;
  /** The agent's state directory (the fqdn cache is persisted there as fqdn-cache.json). */
  stateDir?: string;
}

/**
 * Creates the L7 redirects of the agent and subscribes them to policy, CIDR identity and
 * identity changes (endpoint changes are the caller's hooks: schedule on create, rebuild on
 * delete). Nothing connects before start().
 */
export function startL7Redirects(d: StartL7RedirectsDeps): L7RedirectsHandle {
  const fqdn = new FqdnNameManager({
    engine: d.policy.engine,
    minTtlSeconds: d.minTtlSeconds ?? 0,
    stateFile: d.stateDir ? join(d.stateDir, 'fqdn-cache.json') : undefined,
    logger: d.log,
  });
  d.policy.onChange(() => fqdn.policyChanged());
  if (!d.address) {
    d.log.info('no L7 proxy address (--proxy-address): traffic covered by L7 rules is dropped');
    return { start: () => void fqdn.restore(), schedule: () => undefined, rebuild: () => undefined, stop: () => void fqdn.stop(), fqdn };
  }
  const mappings = new DnsMappingClient({ address: d.address, learn: (a) => fqdn.learn(a), logger: d.log });
  const redirects = new L7Redirects({
    address: d.address,
    datapath: d.datapath,
    endpoints: () => d.endpoints().map((ep) => ({ id: ep.id, identity: ep.identity, ipv4: ep.ipv4, ipv6: ep.ipv6 || undefined, handle: d.policy.handle(ep.labels) })),
    logger: d.log,
  });
  d.policy.onChange(() => redirects.schedule());
  const offPrefix = d.policy.onPrefixChange(() => redirects.schedule());
  const offIdentities = d.identities.onChange(() => redirects.schedule());
  return {
    start: () => {
      const n = fqdn.restore();
      if (n > 0) d.log.info('restored the fqdn cache', { entries: n });
      redirects.start();
      mappings.start();
    },
    schedule: () => redirects.schedule(),
    rebuild: () => redirects.rebuild(),
    stop: () => {
      offPrefix();
      offIdentities();
      mappings.stop();
      redirects.stop();
      void fqdn.stop();
    },
    fqdn,
  };
}
