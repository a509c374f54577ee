// Maglev consistent hashing (Eisenbud et al., NSDI 2016), as Cilium's pkg/maglev builds
// its per-service lookup tables: each backend walks its own permutation of the table's
// slots and takes the next free one in turn, so removing one backend of N moves about
// 1/N of the flows.
import { createHash } from 'node:crypto';
import { ServiceValidationError } from './service-error.js';

/** Table sizes Cilium accepts for `--bpf-lb-maglev-table-size` (primes). */
export const MaglevTableSizes = [251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071] as const;
/** Cilium's default table size. */
export const DefaultMaglevTableSize = 16381;

/** Checks a Maglev table size (one of MaglevTableSizes, all primes); throws naming the flag. */
export function checkMaglevTableSize(m: number, field = '--bpf-lb-maglev-table-size'): number {
  if (!(MaglevTableSizes as readonly number[]).includes(m)) {
    throw new ServiceValidationError(field, `${m} is not a supported Maglev table size (a prime, one of ${MaglevTableSizes.join(', ')})`);
  }
  return m;
}

/** One backend as Maglev sees it: a stable key (e.g. `ip:port`) and a weight (> 0). */
export interface MaglevBackend {
  key: string;
  weight: number;
}

function offsetSkip(key: string, m: number, seed: string): [number, number] {
  const h = createHash('sha256').update(seed).update(key).digest();
  return [h.readUInt32LE(0) % m, (h.readUInt32LE(4) % (m - 1)) + 1];
}

/**
 * Builds the lookup table: `m` slots, each the index (into `backends`) of the backend that
 * owns it, or -1 when there is no backend with a weight. Backends of higher weight take
 * proportionally more slots. Deterministic for the same keys, weights, m and seed.
 */
export function maglevTable(backends: readonly MaglevBackend[], m: number, seed = 'cilium-ts'): Int32Array {
  checkMaglevTableSize(m, 'maglev table size');
  const table = new Int32Array(m).fill(-1);
  const live = backends.map((b, i) => ({ i, w: b.weight })).filter((b) => b.w > 0);
  if (live.length === 0) return table;
  // Each backend's next candidate slot, (offset + k * skip) % m, advanced by adding skip:
  // k * skip overflows small integers at large m and made every probe a heap number.
  const pos = new Int32Array(live.length);
  const skips = new Int32Array(live.length);
  live.forEach((b, j) => {
    [pos[j], skips[j]] = offsetSkip(backends[b.i]!.key, m, seed);
  });
  const credit = new Array<number>(live.length).fill(0);
  const wmax = Math.max(...live.map((b) => b.w));
  let filled = 0;
  while (filled < m) {
    for (let j = 0; j < live.length && filled < m; j++) {
      // Weighted turns: a backend takes a slot each time its credit reaches the largest weight.
      credit[j]! += live[j]!.w;
      if (credit[j]! < wmax) continue;
      credit[j]! -= wmax;
      const skip = skips[j]!;
      let slot = pos[j]!;
      while (table[slot] !== -1) {
        slot += skip;
        if (slot >= m) slot -= m;
      }
      pos[j] = slot + skip >= m ? slot + skip - m : slot + skip;
      table[slot] = live[j]!.i;
      filled++;
    }
  }
  return table;
}
