// The node's shared maps, pinned as pinDir/<map> and used by every endpoint's programs:
// ipcache, endpoints, conntrack, metrics, ep_flags, policy_calls, proxy_ready (and the
// events ring, read through EventReader).
import { BpfMap } from './bpf-map.js';
import { ctExpired, type CtTimeouts } from './ct-gc.js';
import { DatapathInputError } from './errors.js';
import { EventReader } from './event-reader.js';
import { formatCidr, parseCidr, parseIp, type Cidr } from './ip-address.js';
import {
  ctKey, ctValue, endpointKey, endpointValue, ipcacheKey, ipcacheValue, metricsKey, metricsValue, u32, u64,
  type CtKey, type CtValue, type Direction, type EndpointInfo, type IpcacheValue, type MetricsKey, type MetricsValue,
} from './map-codecs.js';
import { proxyReadyKey, proxyReadyValue, type ProxyReadyKey, type ProxyReadyValue } from './proxy-ready.js';

/** One connection tracking entry. */
export type CtEntry = CtKey & CtValue;

/** Counters of one (reason, direction): reason 0 = forwarded, else a drop reason. */
export interface MetricsEntry { reason: number; direction: Direction; packets: bigint; bytes: bigint }

/** Result of one CT garbage collection pass. */
export interface CtGcResult { scanned: number; deleted: number }

/** The shared maps of one node, opened from their pins. */
export class SharedMaps {
  private constructor(
    /** bpffs directory of this node's pins. */
    readonly pinDir: string,
    readonly ipcache: BpfMap<Cidr, IpcacheValue>,
    readonly ct: BpfMap<CtKey, CtValue>,
    readonly endpoints: BpfMap<{ family: 4 | 6; bytes: Buffer }, EndpointInfo>,
    readonly metrics: BpfMap<MetricsKey, MetricsValue>,
    readonly epFlags: BpfMap<number, number>,
    readonly policyCalls: BpfMap<number, number>,
    readonly proxyReady: BpfMap<ProxyReadyKey, ProxyReadyValue>,
  ) {}

  /** Opens the pinned shared maps under pinDir (they must exist: ensureSharedMaps). */
  static open(pinDir: string): SharedMaps {
    const pin = (n: string): string => `${pinDir}/${n}`;
    const opened: Array<BpfMap<never, never>> = [];
    try {
      const ipcache = BpfMap.openPinned(pin('ipcache'), 'ipcache', ipcacheKey, ipcacheValue);
      opened.push(ipcache as never);
      const ct = BpfMap.openPinned(pin('ct'), 'ct', ctKey, ctValue);
      opened.push(ct as never);
      const endpoints = BpfMap.openPinned(pin('endpoints'), 'endpoints', endpointKey, endpointValue);
      opened.push(endpoints as never);
      const metrics = BpfMap.openPinned(pin('metrics'), 'metrics', metricsKey, metricsValue, { perCpu: true });
      opened.push(metrics as never);
      const epFlags = BpfMap.openPinned(pin('ep_flags'), 'ep_flags', u32, u32);
      opened.push(epFlags as never);
      const policyCalls = BpfMap.openPinned(pin('policy_calls'), 'policy_calls', u32, u32);
      opened.push(policyCalls as never);
      const proxyReady = BpfMap.openPinned(pin('proxy_ready'), 'proxy_ready', proxyReadyKey, proxyReadyValue);
      return new SharedMaps(pinDir, ipcache, ct, endpoints, metrics, epFlags, policyCalls, proxyReady);
    } catch (err) {
      for (const m of opened) m.close();
      throw err;
    }
  }

  /** Maps cidr (or a bare IP) to identity, and the node hosting it. */
  ipcacheUpsert(cidr: string, identity: number, hostIp?: string): void {
    if (!Number.isInteger(identity) || identity < 0 || identity > 0xffffffff) throw new DatapathInputError('identity', identity, 'must be an integer 0..2^32-1');
    this.ipcache.update(parseCidr(cidr), { identity, hostIp });
  }

  /** Removes cidr from the ipcache; false when absent. */
  ipcacheDelete(cidr: string): boolean {
    return this.ipcache.delete(parseCidr(cidr));
  }

  /** All ipcache entries. */
  ipcacheList(): Array<{ cidr: string; identity: number; hostIp?: string }> {
    return this.ipcache.entries().map(([k, v]) => ({ cidr: formatCidr(k), identity: v.identity, ...(v.hostIp ? { hostIp: v.hostIp } : {}) }));
  }

  /** Registers a local endpoint's address (events report it as dst_endpoint). */
  endpointsMapUpsert(ip: string, info: EndpointInfo): void {
    this.endpoints.update(parseIp(ip), info);
  }

  /** Removes a local endpoint's address; false when absent. */
  endpointsMapDelete(ip: string): boolean {
    return this.endpoints.delete(parseIp(ip));
  }

  /** All local endpoint addresses. */
  endpointsMapList(): Array<{ ip: string } & EndpointInfo> {
    return this.endpoints.entries().map(([k, v]) => ({ ip: formatCidr({ ...k, prefixLen: 0 }).replace(/\/0$/, ''), ...v }));
  }

  /** A new reader of the shared event ring buffer; close it when done. */
  events(opts: { pollMs?: number } = {}): EventReader {
    return new EventReader({ eventsPin: `${this.pinDir}/events`, lostPin: `${this.pinDir}/events_lost`, pollMs: opts.pollMs });
  }

  /** Connection tracking entries. */
  ctList(): CtEntry[] {
    return this.ct.entriesBatch(1024).map(([k, [v]]) => ({ ...k, ...v }));
  }

  /** Removes every connection tracking entry. */
  ctFlush(): number {
    return this.ct.deleteBatchRaw(this.ct.entriesBatchRaw(1024).map(([k]) => k));
  }

  /** Removes the CT entries expired at nowNs (CLOCK_MONOTONIC) under timeouts. */
  ctGc(nowNs: bigint, timeouts: CtTimeouts): CtGcResult {
    const all = this.ct.entriesBatchRaw(1024);
    const expired = all.filter(([k, v]) => ctExpired(ctKey.decode(k), ctValue.decode(v), nowNs, timeouts)).map(([k]) => k);
    return { scanned: all.length, deleted: expired.length ? this.ct.deleteBatchRaw(expired) : 0 };
  }

  /** Forwarded / dropped counters summed over CPUs. */
  metricsList(): MetricsEntry[] {
    return this.metrics.entriesBatch(1024)
      .map(([k, slots]) => ({
        reason: k.reason, direction: k.direction,
        packets: slots.reduce((a, s) => a + s.packets, 0n), bytes: slots.reduce((a, s) => a + s.bytes, 0n),
      }))
      .filter((m) => m.packets > 0n);
  }

  /** Records lost because the ring buffer was full, summed over CPUs. */
  eventsLost(): bigint {
    const m = BpfMap.openPinned(`${this.pinDir}/events_lost`, 'events_lost', u32, u64, { perCpu: true });
    try {
      return (m.lookupPerCpu(0) ?? []).reduce((a, b) => a + b, 0n);
    } finally {
      m.close();
    }
  }

  /** Marks the L7 proxy listener proxyPort as ready for the endpoint (see Datapath.proxyReadySet). */
  proxyReadySet(endpointId: number, proxyPort: number, target: ProxyReadyValue): void {
    this.proxyReady.update({ endpointId, proxyPort }, target);
  }

  /** Withdraws a proxy_ready entry (its traffic drops again); false when absent. */
  proxyReadyDelete(endpointId: number, proxyPort: number): boolean {
    return this.proxyReady.delete({ endpointId, proxyPort });
  }

  /** The proxy_ready entries. */
  proxyReadyList(): Array<ProxyReadyKey & ProxyReadyValue> {
    return this.proxyReady.entries().map(([k, v]) => ({ ...k, ...v }));
  }

  /** Removes the endpoint's proxy_ready entries. */
  clearProxyReady(endpointId: number): void {
    for (const [k] of this.proxyReady.entries()) if (k.endpointId === endpointId) this.proxyReady.delete(k);
  }

  /** Closes this process's fds of the maps; the pins stay. */
  close(): void {
    for (const m of [this.ipcache, this.ct, this.endpoints, this.metrics, this.epFlags, this.policyCalls, this.proxyReady] as Array<{ close(): void }>) m.close();
  }
}
