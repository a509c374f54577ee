// cilium.api.v1.FQDN: the DNS cache of toFQDNs (cilium fqdn cache list / clean).
import type { ServerUnaryCall } from '@grpc/grpc-js';
import { fqdn as api } from '@cilium-ts/api';
import { InvalidArgumentError, type ServiceRegistration } from '@cilium-ts/grpc';
import type { FqdnCacheEntry, FqdnCacheFilter } from './fqdn-cache.js';
import type { FqdnNameManager } from './fqdn-name-manager.js';

const PATTERN_RE = /^[-a-zA-Z0-9_.*]+$/;

/** Checks a request's filter; throws InvalidArgumentError naming the field. */
export function fqdnFilter(req: { endpointId: number; matchPattern: string }): FqdnCacheFilter {
  const f: FqdnCacheFilter = {};
  if (req.endpointId !== 0) f.endpointId = req.endpointId;
  if (req.matchPattern !== '') {
    if (req.matchPattern.length > 255 || !PATTERN_RE.test(req.matchPattern)) {
      throw new InvalidArgumentError(`match_pattern: ${JSON.stringify(req.matchPattern)} is not a DNS name pattern (letters, digits, '-', '_', '.' and '*')`, { field: 'match_pattern' });
    }
    f.matchPattern = req.matchPattern;
  }
  return f;
}

/** Groups cache entries per (endpoint, name) as `cilium fqdn cache list` shows them (the latest expiry of the group). */
export function fqdnCacheToApi(entries: readonly FqdnCacheEntry[]): api.FqdnCacheEntry[] {
  const groups = new Map<string, FqdnCacheEntry[]>();
  for (const e of entries) {
    const k = `${e.endpointId}|${e.name}`;
    const g = groups.get(k);
    if (g) g.push(e);
    else groups.set(k, [e]);
  }
  return [...groups.values()].map((g) => {
    const last = g.reduce((a, b) => (b.expiresMs > a.expiresMs ? b : a));
    return api.FqdnCacheEntry.fromPartial({
      endpointId: last.endpointId,
      source: last.source,
      fqdn: last.name,
      ttl: last.ttl,
      expirationTime: new Date(last.expiresMs).toISOString(),
      lookupTime: new Date(last.lookupTimeMs).toISOString(),
      ips: g.map((e) => e.ip),
    });
  });
}

/** The FQDN service registration. */
export function fqdnService(manager: () => FqdnNameManager): ServiceRegistration {
  return {
    definition: api.FQDNService,
    implementation: {
      async listCache(call: ServerUnaryCall<api.FqdnCacheListRequest, api.FqdnCacheListResponse>): Promise<api.FqdnCacheListResponse> {
        return api.FqdnCacheListResponse.fromPartial({ entries: fqdnCacheToApi(manager().list(fqdnFilter(call.request))) });
      },
      async cleanCache(call: ServerUnaryCall<api.FqdnCacheCleanRequest, api.FqdnCacheCleanResponse>): Promise<api.FqdnCacheCleanResponse> {
        return api.FqdnCacheCleanResponse.fromPartial({ removed: manager().clean(fqdnFilter(call.request)) });
      },
    },
  };
}
