/**
 * The agent's load-balancing flags, as Cilium's: --bpf-lb-algorithm random|maglev and
 * --bpf-lb-maglev-table-size (a prime of libs/loadbalancer's MaglevTableSizes, default
 * 16381). A bad value stops the agent at start with the flag named.
 */
import { LbAlgorithms, type LbAlgorithm } from '@cilium-ts/bpf';
import { checkMaglevTableSize, DefaultMaglevTableSize, MaglevTableSizes } from '@cilium-ts/loadbalancer';

/** Flag definitions, spread into agentFlags. */
export const lbFlags = {
  bpfLbAlgorithm: { type: 'string', default: 'random', description: 'Backend selection of the socket load balancer: random, or maglev (consistent hashing: a backend change moves the fewest flows)' },
  bpfLbMaglevTableSize: {
    type: 'number',
    default: DefaultMaglevTableSize,
    description: `Slots of each service's Maglev lookup table with --bpf-lb-algorithm maglev (a prime: ${MaglevTableSizes.join(', ')})`,
  },
} as const;

/** A load-balancing flag with a bad value. */
export class LbFlagError extends Error {
  override readonly name = 'LbFlagError';
}

/** The checked load-balancing settings; throws LbFlagError naming the flag. */
export function parseLbFlags(f: { bpfLbAlgorithm: string; bpfLbMaglevTableSize: number }): { lbAlgorithm: LbAlgorithm; maglevTableSize: number } {
  if (!(LbAlgorithms as readonly string[]).includes(f.bpfLbAlgorithm)) {
    throw new LbFlagError(`--bpf-lb-algorithm: "${f.bpfLbAlgorithm}" is not one of ${LbAlgorithms.join(', ')}`);
  }
  try {
    checkMaglevTableSize(f.bpfLbMaglevTableSize);
  } catch (err) {
    throw new LbFlagError((err as Error).message);
  }
  return { lbAlgorithm: f.bpfLbAlgorithm as LbAlgorithm, maglevTableSize: f.bpfLbMaglevTableSize };
}
