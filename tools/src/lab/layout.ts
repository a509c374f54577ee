// The lab's naming and address plan: every name, path and port derives from the lab name
// and a node index, so "up", "status", "down" and "check" agree without talking to each
// other, and "down" finds leftovers even when state.json is gone.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Root of the repository (tools/dist/lab/layout.js -> ../../..). */
export const repoRoot: string = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Parent of every lab's run directory. */
export const runRoot = '/run/cilium-ts';

/** Parent of every lab node's bpffs pin directory. */
export const bpfRoot = '/sys/fs/bpf/cilium-ts';

/** Environment variable set on every process the lab starts; its value is the lab name. */
export const labEnvVar = 'CTS_LAB';

/** The demo pods created on every node, with their labels. */
export const demoPods: readonly { name: string; labels: Record<string, string> }[] = [
  { name: 'web', labels: { app: 'web' } },
  { name: 'client', labels: { app: 'client' } },
  { name: 'other', labels: { app: 'other' } },
];

/** Ports the web pod serves. */
export const webPorts: readonly number[] = [80, 8080];

/** Fixed addresses of the cluster-wide services (127.0.0.1 in the machine's own namespace). */
export const ports = {
  etcdClient: 2379,
  etcdPeer: 2380,
  relay: 4245,
  /** The Hubble UI's page (tools/lab up prints http://127.0.0.1:12000/). */
  hubbleUi: 12000,
  operatorMetrics: 9963,
  relayMetrics: 9966,
  /** hubble-server of node i listens on 4250+i. */
  hubbleServer: (i: number): number => 4250 + i,
  /** agent of node i exports metrics on 9700+i. */
  agentMetrics: (i: number): number => 9700 + i,
  /** hubble-server of node i exports metrics on 9800+i. */
  hubbleMetrics: (i: number): number => 9800 + i,
} as const;

/** Cluster settings passed to the operator and agents. */
export const cluster = {
  name: 'default',
  kvstorePrefix: 'cilium',
  poolCidr: '10.200.0.0/16',
  poolMaskSize: 24,
  /** IPv6 cluster pool: node blocks fd00:10:200::<n-1>00/120. */
  poolCidrV6: 'fd00:10:200::/104',
  poolMaskSizeV6: 120,
  /**
   * The agents' --kvstore-lease-ttl. Upstream's default (15m) would keep a stopped node in
   * the cluster for a quarter of an hour; the lab's 15s lets a node leave within seconds
   * and still outlasts an agent restart (a few seconds).
   */
  kvstoreLeaseTtl: '15s',
} as const;

/** Lab names become part of netns, file and pin names: short, lower-case, no dashes. */
export const labNamePattern = /^[a-z][a-z0-9]{0,15}$/;

/** Every name and path of one lab. */
export class LabLayout {
  constructor(readonly name: string) {}

  /** Prefix of every network namespace of this lab. */
  get netnsPrefix(): string {
    return `cts-${this.name}-`;
  }
  /** /run/cilium-ts/<name> */
  get runDir(): string {
    return join(runRoot, this.name);
  }
  get stateFile(): string {
    return join(this.runDir, 'state.json');
  }
  get logDir(): string {
    return join(this.runDir, 'logs');
  }
  logFile(service: string): string {
    return join(this.logDir, `${service}.log`);
  }
  get etcdDataDir(): string {
    return join(this.runDir, 'etcd');
  }
  /** etcd's client URL: TLS, client certificates required (see lab-certs.ts). */
  get etcdEndpoint(): string {
    return `https://127.0.0.1:${ports.etcdClient}`;
  }
  /** Certificates and keys the lab makes at start (lab-certs.ts). */
  get tlsDir(): string {
    return join(this.runDir, 'tls');
  }
  /** PEM files of certificate `name` in tlsDir: `<name>.crt`, `<name>.key`. */
  cert(name: string): { certFile: string; keyFile: string } {
    return { certFile: join(this.tlsDir, `${name}.crt`), keyFile: join(this.tlsDir, `${name}.key`) };
  }
  /** The operator's own folder (its socket): a non-root operator container owns it. */
  get operatorDir(): string {
    return join(this.runDir, 'operator');
  }
  get operatorSocket(): string {
    return join(this.operatorDir, 'operator.sock');
  }
  nodeName(i: number): string {
    return `n${i}`;
  }
  nodeNetns(i: number): string {
    return `cts-${this.name}-n${i}`;
  }
  nodeDir(i: number): string {
    return join(this.runDir, `n${i}`);
  }
  agentSocket(i: number): string {
    return join(this.nodeDir(i), 'agent.sock');
  }

  /** The gRPC socket of node i's L7 proxy (cilium-proxy --listen; the agent's --proxy-address). */
  proxySocket(i: number): string {
    return join(this.nodeDir(i), 'proxy.sock');
  }
  /** Namespace of the bridge that connects the nodes (see node-wiring.ts). */
  get fabricNetns(): string {
    return `cts-${this.name}-fabric`;
  }
  /** Node address: on interface node0 in the node namespace, 192.168.200.0/24 over the fabric. */
  nodeIp(i: number): string {
    return `192.168.200.${i}`;
  }
  /** Node IPv6 address: on node0 too, fd00:192:168:200::/64 over the fabric (dual-stack labs). */
  nodeIpv6(i: number): string {
    return `fd00:192:168:200::${i}`;
  }
  bpfPinDir(i: number): string {
    return join(bpfRoot, `${this.name}-n${i}`);
  }
  podNetns(i: number, pod: string): string {
    return `cts-${this.name}-n${i}-${pod}`;
  }
  /** CNI container id of a pod: the same as its netns name, so DEL works without state. */
  podContainerId(i: number, pod: string): string {
    return this.podNetns(i, pod);
  }
  hubbleAddress(i: number): string {
    return `127.0.0.1:${ports.hubbleServer(i)}`;
  }
  get relayAddress(): string {
    return `127.0.0.1:${ports.relay}`;
  }
}

/** Parses a lab netns name back into node index and pod; undefined if it is not this lab's. */
export function parseNetnsName(
  layout: LabLayout,
  netns: string,
): { node: number; pod?: string } | undefined {
  if (!netns.startsWith(layout.netnsPrefix)) return undefined;
  const m = /^n(\d+)(?:-([a-z0-9-]+))?$/.exec(netns.slice(layout.netnsPrefix.length));
  if (!m) return undefined;
  return m[2] === undefined ? { node: Number(m[1]) } : { node: Number(m[1]), pod: m[2] };
}

/** Path of an app's entry point, e.g. apps/agent/dist/main.js. */
export function appMain(app: string): string {
  return join(repoRoot, 'apps', app, 'dist', 'main.js');
}

/** Path of a compiled demo program, e.g. tools/dist/demo/probe.js. */
export function demoProgram(name: string): string {
  return join(repoRoot, 'tools', 'dist', 'demo', `${name}.js`);
}

/** The demo CiliumNetworkPolicy shipped with the sources. */
export const demoPolicyFile: string = join(repoRoot, 'tools', 'src', 'lab', 'demo-policy.yaml');

