/**
 * Remote endpoints: the cluster ipcache (other nodes' pods, from the kvstore) into this
 * node's datapath ipcache, and into the metadata stream.
 */
import { agent } from '@cilium-ts/api';
import type { Datapath } from '@cilium-ts/bpf';
import type { IPCacheSync } from '@cilium-ts/kvstore';
import type { MetadataHub } from './metadata-hub.js';
import type { RoutingMode } from './node-routes.js';
import { underlayAddress, type UnderlayProtocol } from './underlay-protocol.js';

/** What the remote ipcache needs of the agent's configuration. */
export interface RemoteIpcacheConfig {
  nodeName: string;
  routingMode: RoutingMode;
  underlay: UnderlayProtocol;
}

/** Follows the cluster ipcache; knows the remote entries written into the datapath. */
export class RemoteIpcache {
  private readonly entries = new Map<string, agent.IPCacheEntry>();

  constructor(
    private readonly cfg: RemoteIpcacheConfig,
    private readonly datapath: Datapath,
    private readonly metadata: MetadataHub,
  ) {}

  /** Starts following the cluster ipcache; returns the watch (close it to stop). */
  watch(sync: IPCacheSync): ReturnType<IPCacheSync['watch']> {
    const { cfg, datapath, metadata } = this;
    return sync.watch({
      upsert: (e) => {
        if (e.node === cfg.nodeName) return;
        const cidr = e.ip.includes('/') ? e.ip : `${e.ip}/${e.ip.includes(':') ? 128 : 32}`;
        // The host address is the tunnel's remote end: the node's address of the underlay's family.
        const hostIp = cfg.routingMode === 'tunnel' ? underlayAddress(cfg.underlay, { ipv4: e.hostIP, ipv6: e.hostIPv6 }) : e.hostIP;
        datapath.ipcacheUpsert(cidr, e.identity, hostIp);
        const entry = agent.IPCacheEntry.fromPartial({ cidr, identity: e.identity, hostIp: e.hostIP ?? '', nodeName: e.node ?? '', namespace: e.namespace ?? '', podName: e.pod ?? '' });
        this.entries.set(e.ip, entry);
        metadata.publish('upsert', { ipcache: entry });
      },
      delete: (ip) => {
        const entry = this.entries.get(ip);
        if (!entry) return;
        this.entries.delete(ip);
        datapath.ipcacheDelete(entry.cidr);
        metadata.publish('delete', { ipcache: entry });
      },
    });
  }

  /** The remote entries currently in the datapath. */
  list(): Iterable<agent.IPCacheEntry> {
    return this.entries.values();
  }
}
