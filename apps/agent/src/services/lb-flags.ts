/**
 * The agent's load-balancing flags, as Cilium's: --bpf-lb-algorithm random|maglev,
 * --bpf-lb-maglev-table-size (a prime of libs/loadbalancer's MaglevTableSizes, default
 * 16381), --enable-node-port with --bpf-lb-mode and --devices (NodePort per packet on the
 * node's device). A bad value stops the agent at start with the flag named.
 */
import { LbAlgorithms, NodePortModes, type LbAlgorithm, type NodePortMode } from '@cilium-ts/bpf';
import { checkMaglevTableSize, DefaultMaglevTableSize, MaglevTableSizes } from '@cilium-ts/loadbalancer';

/** Flag definitions, spread into agentFlags. */
export const lbFlags = {
  bpfLbAlgorithm: { type: 'string', default: 'random', description: 'Backend selection of the socket load balancer: random, or maglev (consistent hashing: a backend change moves the fewest flows)' },
  bpfLbMaglevTableSize: {
    type: 'number',
    default: DefaultMaglevTableSize,
    description: `Slots of each service's Maglev lookup table with --bpf-lb-algorithm maglev (a prime: ${MaglevTableSizes.join(', ')})`,
  },
  enableNodePort: { type: 'boolean', default: false, description: 'Serve NodePort / ExternalIPs / LoadBalancer frontends per packet on the node device (tc), IPv4; needs --node-ip' },
  bpfLbMode: { type: 'string', default: 'snat', description: 'NodePort mode for backends on other nodes: snat (replies return through this node), dsr (the backend\'s node answers the client directly; native routing, tunnel mode falls back to snat), hybrid (dsr for TCP, snat for UDP)' },
  devices: { type: 'string', default: '', description: 'Device that receives NodePort traffic (default: the one holding --node-ip)' },
} as const;

/** A load-balancing flag with a bad value. */
export class LbFlagError extends Error {
  override readonly name = 'LbFlagError';
}

/** NodePort settings: the mode and the device (undefined: the one holding the node address). */
export interface NodePortSettings { mode: NodePortMode; device?: string }

/** The checked load-balancing settings; throws LbFlagError naming the flag. */
export function parseLbFlags(f: { bpfLbAlgorithm: string; bpfLbMaglevTableSize: number; enableNodePort?: boolean; bpfLbMode?: string; devices?: string; nodeIp?: string }): {
  lbAlgorithm: LbAlgorithm;
  maglevTableSize: number;
  nodePort?: NodePortSettings;
} {
  if (!(LbAlgorithms as readonly string[]).includes(f.bpfLbAlgorithm)) {
    throw new LbFlagError(`--bpf-lb-algorithm: "${f.bpfLbAlgorithm}" is not one of ${LbAlgorithms.join(', ')}`);
  }
  try {
    checkMaglevTableSize(f.bpfLbMaglevTableSize);
  } catch (err) {
    throw new LbFlagError((err as Error).message);
  }
  const mode = f.bpfLbMode ?? 'snat';
  if (!(NodePortModes as readonly string[]).includes(mode)) throw new LbFlagError(`--bpf-lb-mode: "${mode}" is not one of ${NodePortModes.join(', ')}`);
  if (f.devices && !/^[A-Za-z0-9_.-]{1,15}$/.test(f.devices)) throw new LbFlagError(`--devices: "${f.devices}" is not an interface name (one device, up to 15 characters)`);
  if (f.enableNodePort && !f.nodeIp) throw new LbFlagError('--enable-node-port: needs --node-ip (the NodePort address and the SNAT source)');
  const nodePort = f.enableNodePort ? { mode: mode as NodePortMode, ...(f.devices ? { device: f.devices } : {}) } : undefined;
  return { lbAlgorithm: f.bpfLbAlgorithm as LbAlgorithm, maglevTableSize: f.bpfLbMaglevTableSize, ...(nodePort ? { nodePort } : {}) };
}
