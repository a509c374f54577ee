/**
 * The agent's status (Daemon.Status): one subsystem each for the kvstore, the datapath,
 * routing and IPAM, the worst of them as the overall state, and the kernel's features.
 */
import { agent } from '@cilium-ts/api';
import type { Datapath, KernelFeature } from '@cilium-ts/bpf';
import type { IdentityAllocator, IPCacheSync, KvStore } from '@cilium-ts/kvstore';
import type { Ipv4Allocator } from './ipam.js';
import type { Ipv6Allocator } from './ipam-v6.js';
import type { NodeRoutes, RoutingMode } from './node-routes.js';
import type { UnderlayProtocol } from './underlay-protocol.js';

/** What the status reads of a (possibly still starting) agent; absent parts are not up yet. */
export interface StatusSources {
  cfg: { kvstoreEndpoints: string[]; bpfPinDir: string; routingMode: RoutingMode; enableIpv6?: boolean };
  underlay: UnderlayProtocol;
  features: KernelFeature[];
  kv?: KvStore;
  allocator?: IdentityAllocator;
  ipcacheSync?: IPCacheSync;
  datapath?: Datapath;
  routes?: NodeRoutes;
  ipam?: Ipv4Allocator;
  ipam6?: Ipv6Allocator;
}

/** The agent's status as Daemon.Status reports it. */
export interface AgentStatus {
  state: string;
  subsystems: agent.SubsystemStatus[];
  kernelFeatures: agent.KernelFeature[];
}

/** "native", or "tunnel (IPv4 underlay)" / "tunnel (IPv6 underlay)". */
export function routingDescription(s: StatusSources): string {
  return s.cfg.routingMode === 'tunnel' ? `tunnel (${s.underlay === 'ipv6' ? 'IPv6' : 'IPv4'} underlay)` : s.cfg.routingMode;
}

function ipamMessage(s: StatusSources): string {
  if (!s.ipam) return 'no pod CIDR yet';
  const v4 = `${s.ipam.cidr.text}, ${s.ipam.available} addresses free`;
  if (!s.ipam6) return s.cfg.enableIpv6 ? `${v4}; no IPv6 pod CIDR yet` : v4;
  const free = s.ipam6.available === 0xffffffff ? 'more than 4294967294' : String(s.ipam6.available);
  return `${v4}; ${s.ipam6.cidr.text}, ${free} addresses free`;
}

// Why the kvstore is degraded (or that it is fine), with what waits for it.
function kvstoreMessage(s: StatusSources): string {
  const kv = s.kv;
  if (!kv) return 'not connected';
  const st = kv.status();
  const parts = [`${s.cfg.kvstoreEndpoints.join(',')}: ${st.message}`];
  if (!st.connected) {
    const ms = kv.outageMs();
    if (ms !== undefined) parts.push(`for ${Math.round(ms / 1000)}s`);
    if (st.lastError) parts.push(`last error: ${st.lastError}`);
    parts.push('existing endpoints keep their connectivity and policy; only pods whose identity is already known can be created');
  }
  const p = s.allocator?.pending();
  const ip = s.ipcacheSync?.pending ?? 0;
  if (p && p.unclaimed + p.releases + ip > 0) {
    parts.push(`waiting for etcd: ${p.unclaimed} identity reference(s) to claim, ${p.releases} to release, ${ip} ipcache write(s)`);
  }
  return parts.join('; ');
}

/** Builds the status from what is up now. */
export function agentStatus(s: StatusSources): AgentStatus {
  const kv = s.kv?.status();
  const subsystems = [
    { name: 'kvstore', state: kv?.connected ? 'ok' : 'degraded', message: kvstoreMessage(s) },
    { name: 'datapath', state: s.datapath ? 'ok' : 'failure', message: s.datapath ? `pinned at ${s.cfg.bpfPinDir}` : 'not loaded' },
    { name: 'routing', state: s.routes ? 'ok' : 'degraded', message: s.routes ? `${routingDescription(s)}: ${s.routes.list().length} route(s) to other nodes` : 'not set up yet' },
    { name: 'ipam', state: s.ipam ? 'ok' : 'degraded', message: ipamMessage(s) },
  ].map((x) => agent.SubsystemStatus.fromPartial(x));
  const rank = { ok: 0, degraded: 1, failure: 2 } as Record<string, number>;
  const worst = subsystems.reduce((w, x) => (rank[x.state]! > rank[w]! ? x.state : w), 'ok');
  return { state: worst, subsystems, kernelFeatures: s.features.map((f) => agent.KernelFeature.fromPartial(f)) };
}
