// The cluster pool: an IPv4 CIDR cut into equal per-node blocks (cluster-pool IPAM in
// the design of Cilium's operator). Pure: no kvstore, no clock.

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
    super(
      `cluster pool ${poolCidr}: no free /${maskSize} left for node ${node}; ` +
        'enlarge --cluster-pool-ipv4-cidr or raise --cluster-pool-ipv4-mask-size',
    );
  }
}

/** Parses dotted-quad IPv4 into a 32-bit unsigned number; undefined if malformed. */
export function parseIPv4(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s.trim());
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

/** Formats a 32-bit unsigned number as dotted-quad IPv4. */
export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Parses "a.b.c.d/len"; undefined if malformed or if host bits are set. */
export function parseCidr(s: string): { base: number; prefix: number } | undefined {
  const [addr, len, extra] = s.trim().split('/');
  if (extra !== undefined || len === undefined || !/^\d{1,2}$/.test(len)) return undefined;
  const base = parseIPv4(addr);
  const prefix = Number(len);
  if (base === undefined || prefix > 32) return undefined;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return (base & mask) >>> 0 === base ? { base, prefix } : undefined;
}

/** Per-node pod CIDR blocks cut from one cluster pool. */
export class CidrPool {
  private readonly base: number;
  private readonly prefix: number;
  private readonly blockSize: number;
  /** How many per-node blocks the pool holds. */
  readonly capacity: number;
  private readonly owners = new Map<number, string>();
  private readonly byNode = new Map<string, number>();

  constructor(
    /** The cluster pool, e.g. 10.200.0.0/16. */
    readonly poolCidr: string,
    /** Prefix length of each node's block, e.g. 24. */
    readonly maskSize: number,
  ) {
    const pool = parseCidr(poolCidr);
    if (!pool) throw new CidrPoolConfigError(poolCidr, maskSize, 'not an IPv4 network in a.b.c.d/len form with no host bits set');
    if (!Number.isInteger(maskSize) || maskSize < pool.prefix || maskSize > 30) {
      throw new CidrPoolConfigError(poolCidr, maskSize, `the mask size must be between the pool's /${pool.prefix} and /30`);
    }
    this.base = pool.base;
    this.prefix = pool.prefix;
    this.blockSize = 2 ** (32 - maskSize);
    this.capacity = 2 ** (maskSize - pool.prefix);
  }

  /** The block of `node`, allocating the lowest free one if it has none. */
  allocate(node: string): string {
    const held = this.byNode.get(node);
    if (held !== undefined) return this.format(held);
    for (let i = 0; i < this.capacity; i++) {
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
    const c = parseCidr(cidr);
    if (!c || c.prefix !== this.maskSize) return undefined;
    const poolMask = this.prefix === 0 ? 0 : (0xffffffff << (32 - this.prefix)) >>> 0;
    if (((c.base & poolMask) >>> 0) !== this.base) return undefined;
    return (c.base - this.base) / this.blockSize;
  }

  private format(i: number): string {
    return `${formatIPv4(this.base + i * this.blockSize)}/${this.maskSize}`;
  }
}
