/**
 * The allocation core shared by the IPv4 and IPv6 pod IPAM: addresses of one pod CIDR
 * (as 128-bit-capable bigints) handed out to owners (container ids), round robin from
 * the last allocation. The first address after the CIDR's base is the router
 * (cilium_host); the base, and for IPv4 the broadcast address, are never handed out.
 * Pure state; persistence is the caller's.
 */

/** An IPAM request that cannot be satisfied; `code` says why. */
export class IpamError extends Error {
  constructor(
    message: string,
    readonly code: 'invalid' | 'exhausted' | 'in-use' | 'out-of-range',
  ) {
    super(message);
    this.name = 'IpamError';
  }
}

/** A pod CIDR as the pool needs it. */
export interface PoolCidr {
  base: bigint;
  size: bigint;
  prefixLength: number;
  text: string;
}

/** What differs between the address families. */
export interface PoolFamily {
  /** How errors name the CIDR, e.g. "pod CIDR" or "IPv6 pod CIDR". */
  label: string;
  /** Parses an address of this family; throws IpamError. */
  parse(ip: string): bigint;
  /** Formats an address of this family canonically. */
  format(n: bigint): string;
  /** Addresses at the end of the CIDR that are never handed out (1 for IPv4 broadcast). */
  reservedAtEnd: bigint;
}

/** Allocates the addresses of one pod CIDR to owners. */
export class AddressPool {
  /** address -> owner */
  private readonly used = new Map<bigint, string>();
  private next: bigint;

  constructor(
    private readonly pool: PoolCidr,
    private readonly family: PoolFamily,
  ) {
    this.next = pool.base + 2n;
  }

  /** The router address pods use as gateway. */
  get router(): string {
    return this.family.format(this.pool.base + 1n);
  }

  /** Number of addresses still free, capped at 2^32-1 (an IPv6 /64 has far more). */
  get available(): number {
    const free = this.pool.size - 2n - this.family.reservedAtEnd - BigInt(this.used.size);
    return free > 0xffffffffn ? 0xffffffff : Number(free);
  }

  /** Allocates the next free address, or `ip` when given. */
  allocate(owner: string, ip?: string): string {
    if (!owner) throw new IpamError('an owner is required to allocate an address', 'invalid');
    if (ip) {
      const n = this.family.parse(ip);
      this.checkInRange(n, ip);
      const cur = this.used.get(n);
      if (cur !== undefined && cur !== owner) throw new IpamError(`${ip} is already allocated to ${cur}`, 'in-use');
      this.used.set(n, owner);
      return this.family.format(n);
    }
    const first = this.pool.base + 2n;
    const last = this.lastUsable();
    const span = last - first + 1n;
    // At most used.size + 1 probes find a free address when one exists.
    const probes = BigInt(this.used.size) + 1n < span ? BigInt(this.used.size) + 1n : span;
    for (let i = 0n; i < probes; i++) {
      const n = first + ((this.next - first + i) % span);
      if (!this.used.has(n)) {
        this.used.set(n, owner);
        this.next = n + 1n > last ? first : n + 1n;
        return this.family.format(n);
      }
    }
    throw new IpamError(`${this.family.label} ${this.pool.text} is exhausted (${this.used.size} addresses in use)`, 'exhausted');
  }

  /** The owner of an address, or undefined when it is free; IpamError when `ip` is not an address of this family. */
  ownerOf(ip: string): string | undefined {
    return this.used.get(this.family.parse(ip));
  }

  /** Releases one address; returns whether it was allocated. */
  release(ip: string): boolean {
    return this.used.delete(this.family.parse(ip));
  }

  /** Releases every address of an owner; returns how many. */
  releaseOwner(owner: string): number {
    let n = 0;
    for (const [addr, o] of this.used) {
      if (o === owner) {
        this.used.delete(addr);
        n++;
      }
    }
    return n;
  }

  /** Current allocations, sorted by address. */
  list(): Array<{ ip: string; owner: string }> {
    return [...this.used.entries()]
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .map(([n, owner]) => ({ ip: this.family.format(n), owner }));
  }

  private lastUsable(): bigint {
    return this.pool.base + this.pool.size - 1n - this.family.reservedAtEnd;
  }

  private checkInRange(n: bigint, ip: string): void {
    if (n <= this.pool.base + 1n || n > this.lastUsable()) {
      throw new IpamError(`${ip} is not an allocatable address of ${this.family.label} ${this.pool.text}`, 'out-of-range');
    }
  }
}
