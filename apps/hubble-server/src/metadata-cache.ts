// Endpoints, identities and ipcache entries from the agent's Metadata.Watch stream, served
// to the flow parser through libs/flow's getter interfaces.
import { agent, type lb } from '@cilium-ts/api';
import { type EndpointGetter, type EndpointInfo, type IdentityGetter, type IdentityInfo, type IPCacheGetter, type IPCacheInfo, type ServiceGetter, type ServiceInfo } from '@cilium-ts/flow';
import { cidrContains, parseCidr, parseIP, type Cidr } from '@cilium-ts/netaddr';

interface PrefixEntry {
  cidr: Cidr;
  info: IPCacheInfo;
}

/** The metadata hubble-server knows, updated from MetadataEvents. */
export class MetadataCache implements EndpointGetter, IdentityGetter, IPCacheGetter, ServiceGetter {
  private readonly servicesById = new Map<number, ServiceInfo & { frontend: string }>();
  /** Services by frontend `ip|port` (canonical address). */
  private readonly servicesByFrontend = new Map<string, ServiceInfo>();
  private readonly endpointsById = new Map<number, EndpointInfo>();
  private readonly endpointsByIp = new Map<string, EndpointInfo>();
  private readonly identities = new Map<number, IdentityInfo>();
  /** Host entries (/32, /128) by canonical address. */
  private readonly hosts = new Map<string, IPCacheInfo>();
  /** Other prefixes by their text, and sorted longest first for lookups. */
  private readonly prefixes = new Map<string, PrefixEntry>();
  private sortedPrefixes: PrefixEntry[] = [];
  private synced = false;

  /** True once the agent's initial snapshot was applied. */
  get isSynced(): boolean {
    return this.synced;
  }

  /** Number of endpoints, identities and ipcache entries held. */
  get size(): { endpoints: number; identities: number; ipcache: number; services: number } {
    return { endpoints: this.endpointsById.size, identities: this.identities.size, ipcache: this.hosts.size + this.prefixes.size, services: this.servicesById.size };
  }

  /** Forgets everything (before a new snapshot after reconnecting). */
  clear(): void {
    this.endpointsById.clear();
    this.endpointsByIp.clear();
    this.identities.clear();
    this.hosts.clear();
    this.prefixes.clear();
    this.servicesById.clear();
    this.servicesByFrontend.clear();
    this.sortedPrefixes = [];
    this.synced = false;
  }

  /** Applies one MetadataEvent. */
  apply(event: agent.MetadataEvent): void {
    const del = event.kind === agent.MetadataEvent_Kind.DELETE;
    if (event.kind === agent.MetadataEvent_Kind.SYNCED) {
      this.synced = true;
    } else if (event.endpoint) {
      this.applyEndpoint(event.endpoint, del);
    } else if (event.identity) {
      if (del) this.identities.delete(event.identity.id);
      else this.identities.set(event.identity.id, { id: event.identity.id, labels: [...event.identity.labels] });
    } else if (event.ipcache) {
      this.applyIPCache(event.ipcache, del);
    } else if (event.service) {
      this.applyService(event.service, del);
    }
  }

  private applyEndpoint(ep: agent.Endpoint, del: boolean): void {
    const old = this.endpointsById.get(ep.id);
    if (old) {
      this.endpointsById.delete(ep.id);
      for (const [ip, e] of this.endpointsByIp) if (e === old) this.endpointsByIp.delete(ip);
    }
    if (del) return;
    const info: EndpointInfo = {
      id: ep.id,
      identity: ep.identity,
      namespace: ep.namespace,
      podName: ep.podName,
      labels: [...ep.labels],
      hostIfindex: ep.hostIfindex || undefined,
      hostIfname: ep.hostIfname || undefined,
      ipv4: ep.ipv4 || undefined,
      ipv6: ep.ipv6 || undefined,
    };
    this.endpointsById.set(ep.id, info);
    for (const ip of [ep.ipv4, ep.ipv6]) {
      const key = canonical(ip);
      if (key) this.endpointsByIp.set(key, info);
    }
  }

  private applyService(svc: lb.LbService, del: boolean): void {
    const old = this.servicesById.get(svc.id);
    if (old) {
      this.servicesById.delete(svc.id);
      if (this.servicesByFrontend.get(old.frontend) === old) this.servicesByFrontend.delete(old.frontend);
    }
    if (del) return;
    const frontend = `${canonical(svc.frontend?.ip ?? '') ?? ''}|${svc.frontend?.port ?? 0}`;
    const info = { id: svc.id, name: svc.name, namespace: svc.namespace, frontend };
    this.servicesById.set(svc.id, info);
    this.servicesByFrontend.set(frontend, info);
  }

  /** The service with id `id` (its reverse-NAT index). */
  getServiceByID(id: number): ServiceInfo | undefined {
    return this.servicesById.get(id);
  }

  /** The service whose frontend is ip:port. */
  getServiceByAddr(ip: string, port: number): ServiceInfo | undefined {
    const key = canonical(ip);
    return key === undefined ? undefined : this.servicesByFrontend.get(`${key}|${port}`);
  }

  private applyIPCache(entry: agent.IPCacheEntry, del: boolean): void {
    const text = entry.cidr.includes('/') ? entry.cidr : `${entry.cidr}/${entry.cidr.includes(':') ? 128 : 32}`;
    const cidr = parseCidr(text);
    if (!cidr) return;
    const info: IPCacheInfo = { identity: entry.identity, namespace: entry.namespace, podName: entry.podName, nodeName: entry.nodeName };
    if (cidr.prefixLength === cidr.bytes.length * 8) {
      const key = canonical(text.slice(0, text.indexOf('/')))!;
      if (del) this.hosts.delete(key);
      else this.hosts.set(key, info);
      return;
    }
    if (del) this.prefixes.delete(text);
    else this.prefixes.set(text, { cidr, info });
    this.sortedPrefixes = [...this.prefixes.values()].sort((a, b) => b.cidr.prefixLength - a.cidr.prefixLength);
  }

  /** The local endpoint owning `ip`. */
  getEndpointByIP(ip: string): EndpointInfo | undefined {
    const key = canonical(ip);
    return key ? this.endpointsByIp.get(key) : undefined;
  }

  /** The local endpoint with id `id`. */
  getEndpointByID(id: number): EndpointInfo | undefined {
    return this.endpointsById.get(id);
  }

  /** The identity with id `id`. */
  getIdentity(id: number): IdentityInfo | undefined {
    return this.identities.get(id);
  }

  /** The ipcache entry of the longest prefix containing `ip`. */
  getIPIdentity(ip: string): IPCacheInfo | undefined {
    const key = canonical(ip);
    if (key === undefined) return undefined;
    const host = this.hosts.get(key);
    if (host) return host;
    if (this.sortedPrefixes.length === 0) return undefined;
    const bytes = parseIP(ip)!;
    return this.sortedPrefixes.find((p) => cidrContains(p.cidr, bytes))?.info;
  }
}

/** Canonical keys of recently seen address strings (the parser asks about the same few addresses over and over). */
const canonicalCache = new Map<string, string | undefined>();
const CANONICAL_CACHE_MAX = 16384;

function canonical(ip: string): string | undefined {
  if (ip === '') return undefined;
  let key = canonicalCache.get(ip);
  if (key !== undefined || canonicalCache.has(ip)) return key;
  const bytes = parseIP(ip);
  key = bytes ? Buffer.from(bytes).toString('hex') : undefined;
  if (canonicalCache.size >= CANONICAL_CACHE_MAX) canonicalCache.clear();
  canonicalCache.set(ip, key);
  return key;
}
