// The cluster pool: an IPv4 or IPv6 CIDR cut into equal per-node blocks (cluster-pool
// IPAM in the design of Cilium's operator). Pure: no kvstore, no clock.
import { formatPrefix, parsePrefix } from '@cilium-ts/netaddr';

/** The pool CIDR or mask size is not usable. */
export class CidrPoolConfigError extends Error {
  override readonly name = 'CidrPoolConfigError';
  constructor(
    readonly poolCidr: string,
    readonly maskSize: number,
    readonly detail: string,
  ) {
    super(`cluster pool ${poolCidr} with per-node mask /${maskSize}: ${detail}`);
  }
}

/** Every block of the pool is in use. */
export class CidrPoolExhaustedError extends Error {
  override readonly name = 'CidrPoolExhaustedError';
  constructor(
    readonly poolCidr: string,
    readonly maskSize: number,
    readonly node: string,
  ) {
    const fam = poolCidr.includes(':') ? 'ipv6' : 'ipv4';
    super(
      `cluster pool ${poolCidr}: no free /${maskSize} left for node ${node}; ` +
        `enlarge --cluster-pool-${fam}-cidr or raise --cluster-pool-${fam}-mask-size`,
    );
  }
}

/** Largest per-node block of each family: a /30 leaves IPv4 two pod addresses, a /126 IPv6 two. */
const MAX_MASK = { 4: 30, 6: 126 } as const;
/** Smallest IPv6 per-node block the agent accepts. */
const MIN_MASK_V6 = 64;

/** Per-node pod CIDR blocks cut from one cluster pool (IPv4 or IPv6). */
export class CidrPool {
  private readonly family: 4 | 6;
  private readonly base: bigint;
  private readonly blockSize: bigint;
  /** How many per-node blocks the pool holds (capped at 2^53 for huge IPv6 pools). */
  readonly capacity: number;
  private readonly owners = new Map<number, string>();
  private readonly byNode = new Map<string, number>();

  constructor(
    /** The cluster pool, e.g. 10.200.0.0/16 or fd00:10:200::/104. */
    readonly poolCidr: string,
    /** Prefix length of each node's block, e.g. 24 or 120. */
    readonly maskSize: number,
  ) {
    const pool = parsePrefix(poolCidr.trim());
    if (typeof pool === 'string' || !poolCidr.includes('/')) {
      throw new CidrPoolConfigError(poolCidr, maskSize, 'not an IPv4 or IPv6 network in addr/len form with no host bits set');
    }
    const max = MAX_MASK[pool.family];
    const min = pool.family === 6 ? Math.max(pool.bits, MIN_MASK_V6) : pool.bits;
    if (!Number.isInteger(maskSize) || maskSize < min || maskSize > max) {
      const lower = min === pool.bits ? `the pool's /${min}` : `/${min}`;
      throw new CidrPoolConfigError(poolCidr, maskSize, `the mask size must be between ${lower} and /${max}`);
    }
    this.family = pool.family;
    this.base = pool.addr;
    this.blockSize = 1n << BigInt((pool.family === 4 ? 32 : 128) - maskSize);
    this.capacity = Math.min(2 ** (maskSize - pool.bits), Number.MAX_SAFE_INTEGER);
  }

  /** The block of `node`, allocating the lowest free one if it has none. */
  allocate(node: string): string {
    const held = this.byNode.get(node);
    if (held !== undefined) return this.format(held);
    // Among owners.size + 1 indexes one is free, when the pool is not full.
    const probes = Math.min(this.capacity, this.owners.size + 1);
    for (let i = 0; i < probes; i++) {
      if (!this.owners.has(i)) {
        this.take(i, node);
        return this.format(i);
      }
    }
    throw new CidrPoolExhaustedError(this.poolCidr, this.maskSize, node);
  }

  /**
   * Records that `node` uses `cidr` (its own or one assigned earlier). Returns false,
   * changing nothing, when the CIDR is not one of the pool's blocks or another node holds it.
   */
  occupy(node: string, cidr: string): boolean {
    const i = this.indexOf(cidr);
    if (i === undefined) return false;
    const owner = this.owners.get(i);
    if (owner !== undefined) return owner === node;
    const old = this.byNode.get(node);
    if (old !== undefined) this.owners.delete(old);
    this.take(i, node);
    return true;
  }

  /** Frees the block of `node`; returns it, or undefined if it held none. */
  release(node: string): string | undefined {
    const i = this.byNode.get(node);
    if (i === undefined) return undefined;
    this.byNode.delete(node);
    this.owners.delete(i);
    return this.format(i);
  }

  /** True when `cidr` is exactly one of the pool's blocks. */
  contains(cidr: string): boolean {
    return this.indexOf(cidr) !== undefined;
  }

  /** The block of a node, if any. */
  get(node: string): string | undefined {
    const i = this.byNode.get(node);
    return i === undefined ? undefined : this.format(i);
  }

  /** Every node's block, sorted by node name. */
  allocations(): Map<string, string> {
    return new Map([...this.byNode].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([n, i]) => [n, this.format(i)]));
  }

  private take(i: number, node: string): void {
    this.owners.set(i, node);
    this.byNode.set(node, i);
  }

  private indexOf(cidr: string): number | undefined {
    const c = parsePrefix(cidr.trim());
    if (typeof c === 'string' || c.family !== this.family || c.bits !== this.maskSize) return undefined;
    const i = (c.addr - this.base) / this.blockSize;
    if (c.addr < this.base || i >= BigInt(this.capacity)) return undefined;
    return Number(i);
  }

  private format(i: number): string {
    return formatPrefix({ family: this.family, addr: this.base + BigInt(i) * this.blockSize, bits: this.maskSize });
  }
}
