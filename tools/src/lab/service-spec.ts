// What to start for each lab daemon: argv, log file, address and how to tell it is ready.
// Pure: built from the layout only, so the command lines are unit-tested.
import { EtcdBinary, etcdCommandLine, kvstoreTlsArgs } from '@cilium-ts/kvstore';
import { hubbleServerTlsName, labCerts } from './lab-certs.js';
import { appMain, cluster, LabLayout, ports } from './layout.js';

/** How "up" decides that a daemon is ready. */
export type ReadyProbe =
  | { kind: 'http'; url: string }
  | { kind: 'etcd'; endpoint: string; caFile: string; certFile: string; keyFile: string }
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'unix'; path: string }
  | { kind: 'agent-status'; socket: string };

/** One daemon of the lab. */
export interface ServiceSpec {
  /** Unique service name, also the log file's base name: etcd, operator, agent-n1, ... */
  name: string;
  /** Role, for ordering in "down" and display. */
  role: 'etcd' | 'operator' | 'agent' | 'proxy' | 'hubble-server' | 'hubble-relay' | 'hubble-ui';
  /** Node index for per-node services. */
  node?: number;
  argv: string[];
  logFile: string;
  /** Address reachable from the machine's own namespace: unix:///path or host:port. */
  address: string;
  ready: ReadyProbe;
  /** Seconds to wait for readiness. */
  readyTimeoutSec: number;
  /** What the running process's command line contains (default argv[1]); for a daemon started through a wrapper (nsenter). */
  cmdlineMatch?: string;
}

/** etcd on 127.0.0.1 with TLS: clients and peers must present a certificate of the lab's etcd CA. */
export function etcdSpec(layout: LabLayout, etcdBinary = EtcdBinary): ServiceSpec {
  const ca = layout.cert(labCerts.etcdCa).certFile;
  const server = layout.cert(labCerts.etcdServer);
  const client = layout.cert(labCerts.etcdClient);
  const { args, endpoint } = etcdCommandLine({
    name: `cts-${layout.name}`,
    dataDir: layout.etcdDataDir,
    clientPort: ports.etcdClient,
    peerPort: ports.etcdPeer,
    tls: { caFile: ca, certFile: server.certFile, keyFile: server.keyFile },
  });
  return {
    name: 'etcd',
    role: 'etcd',
    argv: [etcdBinary, ...args],
    logFile: layout.logFile('etcd'),
    address: `127.0.0.1:${ports.etcdClient}`,
    ready: { kind: 'etcd', endpoint, caFile: ca, certFile: client.certFile, keyFile: client.keyFile },
    readyTimeoutSec: 20,
  };
}

const kvstoreArgs = (layout: LabLayout): string[] => {
  const client = layout.cert(labCerts.etcdClient);
  return [
    '--kvstore-endpoints', layout.etcdEndpoint,
    '--kvstore-prefix', cluster.kvstorePrefix,
    ...kvstoreTlsArgs({ caFile: layout.cert(labCerts.etcdCa).certFile, ...client }),
  ];
};

/** cilium-operator. */
export function operatorSpec(layout: LabLayout): ServiceSpec {
  return {
    name: 'operator',
    role: 'operator',
    argv: [
      process.execPath, appMain('operator'),
      ...kvstoreArgs(layout),
      '--cluster-name', cluster.name,
      '--cluster-pool-ipv4-cidr', cluster.poolCidr,
      '--cluster-pool-ipv4-mask-size', String(cluster.poolMaskSize),
      '--cluster-pool-ipv6-cidr', cluster.poolCidrV6,
      '--cluster-pool-ipv6-mask-size', String(cluster.poolMaskSizeV6),
      '--listen', `unix://${layout.operatorSocket}`,
      '--metrics-port', String(ports.operatorMetrics),
    ],
    logFile: layout.logFile('operator'),
    address: `unix://${layout.operatorSocket}`,
    ready: { kind: 'unix', path: layout.operatorSocket },
    readyTimeoutSec: 20,
  };
}

/**
 * cilium-agent of node i; it runs in the machine's namespace and enters its node namespace.
 * Dual-stack (`ipv6`): it publishes its IPv6 node address and takes an IPv6 pod CIDR from
 * the operator's IPv6 pool.
 */
export function agentSpec(layout: LabLayout, i: number, ipv6 = false, routingMode: 'native' | 'tunnel' = 'native', underlay: 'ipv4' | 'ipv6' = 'ipv4'): ServiceSpec {
  const node = layout.nodeName(i);
  return {
    name: `agent-${node}`,
    role: 'agent',
    node: i,
    argv: [
      process.execPath, appMain('agent'),
      '--node-name', node,
      '--cluster-name', cluster.name,
      '--node-netns', `/run/netns/${layout.nodeNetns(i)}`,
      '--node-ip', layout.nodeIp(i),
      ...(ipv6 ? ['--node-ipv6', layout.nodeIpv6(i), '--enable-ipv6'] : []),
      // native: pod CIDRs of other nodes are routed over the lab fabric (see node-wiring.ts);
      // tunnel: VXLAN between the node addresses on that fabric.
      '--routing-mode', routingMode,
      // tunnel over IPv6: the VXLAN outer header goes between the nodes' fd00:192:168:200::<i>.
      ...(routingMode === 'tunnel' && underlay === 'ipv6' ? ['--underlay-protocol', 'ipv6'] : []),
      ...kvstoreArgs(layout),
      '--kvstore-lease-ttl', cluster.kvstoreLeaseTtl,
      '--state-dir', `${layout.nodeDir(i)}/state`,
      '--bpf-pin-dir', layout.bpfPinDir(i),
      // NodePort per packet on node0 (the device holding --node-ip): the demo NodePort (demo-nodeport.ts).
      '--enable-node-port',
      '--listen', `unix://${layout.agentSocket(i)}`,
      // The node's L7 proxy (proxySpec): it gets the L7 rules from here.
      '--proxy-address', `unix://${layout.proxySocket(i)}`,
      // Published in the node registration: how hubble-relay finds this node's hubble-server.
      '--hubble-address', layout.hubbleAddress(i),
      '--metrics-port', String(ports.agentMetrics(i)),
      '--log-level', 'info',
    ],
    logFile: layout.logFile(`agent-${node}`),
    address: `unix://${layout.agentSocket(i)}`,
    ready: { kind: 'agent-status', socket: layout.agentSocket(i) },
    readyTimeoutSec: 45,
  };
}

/**
 * cilium-proxy of node i, in the node's network namespace (nsenter --net: `ip netns exec`
 * would remount /sys and hide the bpffs), reading the identities from the agent's pinned
 * ipcache. Its listeners bind :: (IPv4 and IPv6 through TPROXY) in a dual-stack lab, else
 * 127.0.0.1. In a podman lab its container joins the node's namespace instead
 * (container-runtime.ts).
 */
export function proxySpec(layout: LabLayout, i: number, ipv6 = false): ServiceSpec {
  const node = layout.nodeName(i);
  return {
    name: `proxy-${node}`,
    role: 'proxy',
    node: i,
    argv: [
      'nsenter', `--net=/run/netns/${layout.nodeNetns(i)}`,
      process.execPath, appMain('proxy'),
      '--listen', `unix://${layout.proxySocket(i)}`,
      '--bpf-pin-dir', layout.bpfPinDir(i),
      '--proxy-listen-host', ipv6 ? '::' : '127.0.0.1',
      '--log-level', 'info',
    ],
    logFile: layout.logFile(`proxy-${node}`),
    address: `unix://${layout.proxySocket(i)}`,
    ready: { kind: 'unix', path: layout.proxySocket(i) },
    readyTimeoutSec: 20,
    cmdlineMatch: appMain('proxy'),
  };
}

/** hubble-server of node i. */
export function hubbleServerSpec(layout: LabLayout, i: number): ServiceSpec {
  const node = layout.nodeName(i);
  return {
    name: `hubble-server-${node}`,
    role: 'hubble-server',
    node: i,
    argv: [
      process.execPath, appMain('hubble-server'),
      '--agent-socket', `unix://${layout.agentSocket(i)}`,
      // L7 flows: the access records of the node's cilium-proxy.
      '--proxy-address', `unix://${layout.proxySocket(i)}`,
      '--listen-address', layout.hubbleAddress(i),
      '--node-name', node,
      '--cluster-name', cluster.name,
      // No kvstore: its peers (the cluster's nodes) come from the agent's Metadata stream.
      '--metrics-port', String(ports.hubbleMetrics(i)),
      // mTLS: only clients with a certificate of the lab's Hubble CA (the relay) read flows.
      '--hubble-tls-cert-file', layout.cert(labCerts.hubbleServer).certFile,
      '--hubble-tls-key-file', layout.cert(labCerts.hubbleServer).keyFile,
      '--hubble-tls-client-ca-files', layout.cert(labCerts.hubbleCa).certFile,
    ],
    logFile: layout.logFile(`hubble-server-${node}`),
    address: layout.hubbleAddress(i),
    ready: { kind: 'tcp', host: '127.0.0.1', port: ports.hubbleServer(i) },
    readyTimeoutSec: 20,
  };
}

/**
 * hubble-relay; it discovers every hubble-server through node 1's peer service and reads
 * them over mTLS. Its own port is plaintext on loopback (as Cilium's Helm chart defaults
 * to), or TLS with `relayTls` (the lab's --relay-tls).
 */
export function relaySpec(layout: LabLayout, relayTls = false): ServiceSpec {
  const client = layout.cert(labCerts.relayClient);
  const server = layout.cert(labCerts.relayServer);
  return {
    name: 'hubble-relay',
    role: 'hubble-relay',
    argv: [
      process.execPath, appMain('hubble-relay'),
      '--listen-address', layout.relayAddress,
      '--peer-service', layout.hubbleAddress(1),
      '--metrics-port', String(ports.relayMetrics),
      '--tls-hubble-server-ca-files', layout.cert(labCerts.hubbleCa).certFile,
      '--tls-client-cert-file', client.certFile,
      '--tls-client-key-file', client.keyFile,
      '--peer-service-tls-server-name', hubbleServerTlsName(layout.nodeName(1)),
      ...(relayTls ? ['--tls-relay-server-cert-file', server.certFile, '--tls-relay-server-key-file', server.keyFile] : ['--disable-server-tls']),
    ],
    logFile: layout.logFile('hubble-relay'),
    address: layout.relayAddress,
    ready: { kind: 'tcp', host: '127.0.0.1', port: ports.relay },
    readyTimeoutSec: 20,
  };
}

/** Every service of an N-node lab except etcd, in start order. */
export function daemonSpecs(
  layout: LabLayout, nodes: number, ipv6 = false, routingMode: 'native' | 'tunnel' = 'native', underlay: 'ipv4' | 'ipv6' = 'ipv4', relayTls = false,
): ServiceSpec[] {
  const specs = [operatorSpec(layout)];
  for (let i = 1; i <= nodes; i++) specs.push(agentSpec(layout, i, ipv6, routingMode, underlay), proxySpec(layout, i, ipv6), hubbleServerSpec(layout, i));
  specs.push(relaySpec(layout, relayTls));
  return specs;
}

/** Order in which "down" stops services: the reverse of start, etcd last. */
export const stopOrder: readonly ServiceSpec['role'][] = ['hubble-ui', 'hubble-relay', 'hubble-server', 'proxy', 'agent', 'operator', 'etcd'];
