/** The agent's command-line flags (every one documented in --help). */
import { metricsHostFlag } from '@cilium-ts/grpc';
import { defineFlags } from '@cilium-ts/process';
import { kvstoreTlsFlags } from '@cilium-ts/kvstore';
import { lbFlags } from './services/lb-flags.js';
import { masqueradeFlags } from './masquerade-flags.js';

/** Flag definitions of cilium-agent. */
export const agentFlags = defineFlags(
  {
    nodeName: { type: 'string', env: 'CILIUM_NODE_NAME', description: 'Name of this node (required); unique in the cluster' },
    clusterName: { type: 'string', default: 'default', env: 'CILIUM_CLUSTER_NAME', description: 'Name of the cluster this node belongs to' },
    nodeNetns: {
      type: 'string',
      default: '',
      description: 'Path of the network namespace that is this node (e.g. /run/netns/n1); empty = the agent\'s own namespace, as on a real host',
    },
    nodeIp: { type: 'string', default: '', description: 'IPv4 address of this node, published to other nodes and used as the host IP of local endpoints in the ipcache' },
    podCidr: { type: 'string', default: '', description: 'IPv4 pod CIDR of this node (e.g. 10.200.1.0/24); empty = wait for the operator to assign one from the cluster pool' },
    nodeIpv6: { type: 'string', default: '', description: 'IPv6 address of this node, published to other nodes as the next hop of routes to its IPv6 pod CIDR' },
    podCidrV6: {
      type: 'string',
      default: '',
      description: 'IPv6 pod CIDR of this node, /64 to /126 (e.g. fd00:10:200::100/120); empty with --enable-ipv6 = wait for the operator\'s IPv6 cluster pool',
    },
    enableIpv6: { type: 'boolean', default: false, description: 'Give pods IPv6 addresses too (implied by --pod-cidr-v6); without --pod-cidr-v6 the operator assigns the IPv6 pod CIDR' },
    kvstoreEndpoints: { type: 'string[]', default: ['http://127.0.0.1:2379'], env: 'CILIUM_KVSTORE_ENDPOINTS', description: 'etcd client URLs, comma separated' },
    kvstorePrefix: { type: 'string', default: 'cilium', description: 'Prefix of every key this agent reads or writes in etcd' },
    ...kvstoreTlsFlags,
    kvstoreConnectTimeout: { type: 'number', default: 30, description: 'Seconds to wait for etcd at start-up before giving up' },
    kvstoreHeartbeatInterval: {
      type: 'string',
      default: '15s',
      description: "The operator's --heartbeat-interval: a kvstore heartbeat older than three of these makes the kvstore unhealthy in the status",
    },
    kvstoreLeaseTtl: {
      type: 'string',
      default: '15m',
      description:
        'Time-to-live of the kvstore session lease that this node\'s registration, its pods\' ipcache entries and identity references are bound to (5s to 24h); after a crash the node stays known to the others for up to this long',
    },
    stateDir: { type: 'string', default: '/run/cilium-ts/state', description: 'Directory holding endpoint state files (restored after a restart)' },
    bpfPinDir: { type: 'string', default: '/sys/fs/bpf/cilium-ts', description: 'bpffs directory where this node\'s BPF programs and maps are pinned' },
    cgroupRoot: {
      type: 'string',
      default: '',
      description: 'cgroup v2 directory whose processes get east-west load balancing at the socket (connect/sendmsg/recvmsg/getpeername); never the hierarchy root; empty = services are in the maps but no socket is translated',
    },
    ...lbFlags,
    ...masqueradeFlags,
    listen: {
      type: 'string[]',
      default: ['unix:///run/cilium-ts/agent.sock'],
      env: 'CILIUM_AGENT_LISTEN',
      description: 'API addresses, comma separated: unix:///path (mode 0660) and/or host:port for debugging',
    },
    proxyAddress: {
      type: 'string',
      default: 'unix:///run/cilium-ts/proxy.sock',
      env: 'CILIUM_PROXY_ADDRESS',
      description:
        'gRPC address of this node\'s L7 proxy (cilium-proxy --listen): the agent pushes its endpoints\' L7 rules there and lets the datapath redirect L7-covered traffic only once the proxy has acknowledged them; until then, and while the proxy is down, that traffic is dropped (fail closed, drop reason 165); empty = no proxy (L7 rules always drop)',
    },
    tofqdnsMinTtl: {
      type: 'number',
      default: 0,
      description: 'the minimum time, in seconds, to use DNS data for toFQDNs policies: an answer with a shorter TTL keeps its IPs allowed this long; 0 = the TTL of each answer, as Cilium\'s default',
    },
    hubbleAddress: { type: 'string', default: '', description: 'host:port of this node\'s hubble-server, published in the node registration for hubble-relay discovery' },
    metricsPort: { type: 'number', default: 0, description: 'Port of the Prometheus metrics endpoint (0 = disabled)' },
    ...metricsHostFlag,
    enablePolicy: {
      type: 'string',
      default: 'default',
      description: 'Policy enforcement mode: default (enforce where a rule selects the endpoint), always, never',
    },
    routingMode: {
      type: 'string',
      default: 'native',
      description: 'How pod traffic crosses nodes: native (a route per remote pod CIDR via the node address) or tunnel (VXLAN on cilium_vxlan, UDP 8472, the source identity in the VNI)',
    },
    underlayProtocol: {
      type: 'string',
      default: 'ipv4',
      description: 'Tunnel mode: address family of the VXLAN outer header between nodes, ipv4 (to --node-ip) or ipv6 (to --node-ipv6, which it needs)',
    },
    logLevel: { type: 'string', default: 'info', env: 'CILIUM_LOG_LEVEL', description: 'Log level: debug, info, warn, error' },
  },
  {
    program: 'cilium-agent',
    summary: 'The cilium-ts node agent: endpoints, IPAM, identities, policy and the eBPF datapath of one node.',
  },
);
