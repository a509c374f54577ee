/**
 * The agent's configuration as `cilium config` shows it (Daemon.GetConfig): every resolved
 * setting under its flag's name (Cilium's option names where Cilium has the option).
 * Secrets are never part of it (TLS settings are file paths).
 */
import type { AgentConfig } from './agent-config.js';

/** name -> value of every setting of `cfg`, sorted by name. */
export function configOptions(cfg: AgentConfig): Record<string, string> {
  const o: Record<string, string> = {
    'cluster-name': cfg.clusterName,
    'node-name': cfg.nodeName,
    'node-netns': cfg.nodeNetns,
    'node-ip': cfg.nodeIp,
    'node-ipv6': cfg.nodeIpv6 ?? '',
    'pod-cidr': cfg.podCidr,
    'pod-cidr-v6': cfg.podCidrV6 ?? '',
    'enable-ipv4': 'true',
    'enable-ipv6': String(cfg.enableIpv6 ?? false),
    'kvstore': 'etcd',
    'kvstore-endpoints': cfg.kvstoreEndpoints.join(','),
    'kvstore-prefix': cfg.kvstorePrefix,
    'kvstore-connect-timeout': `${cfg.kvstoreConnectTimeout}s`,
    'kvstore-lease-ttl': `${cfg.kvstoreLeaseTtlSeconds ?? 900}s`,
    'kvstore-heartbeat-interval': `${(cfg.kvstoreHeartbeatIntervalMs ?? 15_000) / 1000}s`,
    'kvstore-tls': cfg.kvstoreTls ? 'true' : 'false',
    'state-dir': cfg.stateDir,
    'bpf-pin-dir': cfg.bpfPinDir,
    'cgroup-root': cfg.cgroupRoot ?? '',
    'listen': cfg.listen.join(','),
    'hubble-address': cfg.hubbleAddress,
    'proxy-address': cfg.proxyAddress ?? '',
    'tofqdns-min-ttl': String(cfg.tofqdnsMinTtl ?? 0),
    'enable-policy': cfg.enablePolicy,
    'routing-mode': cfg.routingMode,
    'underlay-protocol': cfg.underlayProtocol ?? 'ipv4',
  };
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}
