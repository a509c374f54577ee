/** The resolved configuration of one agent (built from its flags by main.ts). */
import type { LbAlgorithm } from '@cilium-ts/bpf';
import type { KvStoreTls } from '@cilium-ts/kvstore';
import type { RoutingMode } from './node-routes.js';
import type { NodePortSettings } from './services/lb-flags.js';
import type { MasqueradeSettings } from './masquerade-flags.js';
import type { UnderlayProtocol } from './underlay-protocol.js';

/** Resolved configuration of one agent. */
export interface AgentConfig {
  nodeName: string;
  clusterName: string;
  nodeNetns: string;
  nodeIp: string;
  podCidr: string;
  /** IPv6 address of this node (next hop of other nodes' routes to our IPv6 pod CIDR); empty = none. */
  nodeIpv6?: string;
  /** IPv6 pod CIDR; empty with enableIpv6 = wait for the operator's IPv6 pool. */
  podCidrV6?: string;
  /** Pods get IPv6 addresses too. */
  enableIpv6?: boolean;
  kvstoreEndpoints: string[];
  /** TLS to etcd (CA, client certificate and key), from the --kvstore-*-file flags. */
  kvstoreTls?: KvStoreTls;
  kvstorePrefix: string;
  kvstoreConnectTimeout: number;
  /** TTL of the session lease this node's keys are bound to (--kvstore-lease-ttl; default 15 min). */
  kvstoreLeaseTtlSeconds?: number;
  /** The operator's heartbeat interval (--kvstore-heartbeat-interval; default 15 s): stale after three. */
  kvstoreHeartbeatIntervalMs?: number;
  stateDir: string;
  bpfPinDir: string;
  /** cgroup v2 directory the socket load balancer attaches to (--cgroup-root); empty = none. */
  cgroupRoot?: string;
  /** Backend selection of the socket load balancer (--bpf-lb-algorithm; default random). */
  lbAlgorithm?: LbAlgorithm;
  /** Maglev table size (--bpf-lb-maglev-table-size; default 16381). */
  maglevTableSize?: number;
  /** NodePort per packet on the node device (--enable-node-port, --bpf-lb-mode, --devices); absent = off. */
  nodePort?: NodePortSettings;
  /** Masquerading of pod traffic leaving the cluster (--enable-ipv4-masquerade, --ipv4-native-routing-cidr); absent = off. */
  masquerade?: MasqueradeSettings;
  listen: string[];
  hubbleAddress: string;
  /** gRPC address of the node's L7 proxy (--proxy-address); empty or absent = none (L7-covered traffic drops). */
  proxyAddress?: string;
  /** --tofqdns-min-ttl in seconds (default 0: each DNS answer's TTL). */
  tofqdnsMinTtl?: number;
  enablePolicy: 'default' | 'always' | 'never';
  /** How pod traffic crosses nodes: native routes, or VXLAN with the identity in the VNI. */
  routingMode: RoutingMode;
  /** Tunnel mode: the family of the VXLAN outer header (--underlay-protocol; default ipv4). */
  underlayProtocol?: UnderlayProtocol;
  /** The podman command the agent reads container labels with (runtime-labels.ts; default ["podman"]). */
  podmanCommand?: string[];
  /** The endpoint deletion queue (deletion-queue-drain.ts); default: delete-queue beside the first unix:// listen socket. */
  deletionQueueDir?: string;
}
