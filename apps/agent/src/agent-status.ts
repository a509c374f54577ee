/**
 * The agent's status (Daemon.Status): one subsystem each for the kvstore, the datapath,
 * routing and IPAM, the worst of them as the overall state, and the kernel's features.
 */
import { agent } from '@cilium-ts/api';
import type { Datapath, KernelFeature } from '@cilium-ts/bpf';
import type { HeartbeatMonitor, IdentityAllocator, IPCacheSync, KvStore } from '@cilium-ts/kvstore';
import type { Ipv4Allocator } from './ipam.js';
import type { Ipv6Allocator } from './ipam-v6.js';
import type { NodeRoutes, RoutingMode } from './node-routes.js';
import type { UnderlayProtocol } from './underlay-protocol.js';
import type { ClusterPolicy, ClusterPolicyStatus } from './cluster-policy.js';

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
  policy?: ClusterPolicy;
  heartbeat?: HeartbeatMonitor;
}

/** The agent's status as Daemon.Status reports it. */
export interface AgentStatus {
  state: string;
  subsystems: agent.SubsystemStatus[];
  kernelFeatures: agent.KernelFeature[];
  /** The cluster-wide revision enforced and whether it lags. */
  policy: ClusterPolicyStatus;
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
  const hb = s.heartbeat?.status();
  if (hb?.invalid) parts.push(hb.invalid);
  if (hb?.ageMs !== undefined) {
    const age = `${(hb.ageMs / 1000).toFixed(1)}s`;
    parts.push(hb.stale ? `operator heartbeat is ${age} old (limit ${hb.limitMs / 1000}s): is cilium-operator running?` : `operator heartbeat ${age} ago`);
  } else if (s.heartbeat) parts.push('no operator heartbeat seen yet');
  const p = s.allocator?.pending();
  const ip = s.ipcacheSync?.pending ?? 0;
  if (p && p.unclaimed + p.releases + ip > 0) {
    parts.push(`waiting for etcd: ${p.unclaimed} identity reference(s) to claim, ${p.releases} to release, ${ip} ipcache write(s)`);
  }
  return parts.join('; ');
}

// The revision enforced, whether it lags the kvstore's, and the rule counts.
function policyMessage(p: ClusterPolicyStatus, connected: boolean): string {
  const parts = [`revision ${p.enforced} enforced (${p.clusterRules} cluster-wide rule(s), ${p.localRules} node-local)`];
  if (!connected) parts.push('kvstore unreachable: newer revisions may exist; enforcing the last known set');
  else if (p.latest > p.enforced) parts.push(`lagging: the kvstore holds revision ${p.latest}`);
  else parts.push('in sync with the kvstore');
  if (p.problem) parts.push(p.problem);
  return parts.join('; ');
}

/** Builds the status from what is up now. */
export function agentStatus(s: StatusSources): AgentStatus {
  const kv = s.kv?.status();
  const connected = kv?.connected ?? false;
  const policy = s.policy?.status(connected) ?? { enforced: 0, latest: 0, lagging: true, clusterRules: 0, localRules: 0, problem: 'not started' };
  const subsystems = [
    { name: 'kvstore', state: kv?.connected && !s.heartbeat?.status().stale ? 'ok' : 'degraded', message: kvstoreMessage(s) },
    { name: 'datapath', state: s.datapath ? 'ok' : 'failure', message: s.datapath ? `pinned at ${s.cfg.bpfPinDir}` : 'not loaded' },
    { name: 'routing', state: s.routes ? 'ok' : 'degraded', message: s.routes ? `${routingDescription(s)}: ${s.routes.list().length} route(s) to other nodes` : 'not set up yet' },
    { name: 'ipam', state: s.ipam ? 'ok' : 'degraded', message: ipamMessage(s) },
    { name: 'policy', state: policy.lagging ? 'degraded' : 'ok', message: policyMessage(policy, connected) },
  ].map((x) => agent.SubsystemStatus.fromPartial(x));
  const rank = { ok: 0, degraded: 1, failure: 2 } as Record<string, number>;
  const worst = subsystems.reduce((w, x) => (rank[x.state]! > rank[w]! ? x.state : w), 'ok');
  return { state: worst, subsystems, kernelFeatures: s.features.map((f) => agent.KernelFeature.fromPartial(f)), policy };
}
