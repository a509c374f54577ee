/**
 * Host-scope IPAM: hands out pod addresses from this node's pod CIDR. The first
 * usable address is the router (cilium_host); network and broadcast are never handed out.
 * Pure state; persistence is the caller's (see state-store.ts).
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

/** Parses dotted IPv4 into a 32-bit unsigned number; throws on bad input. */
export function ipv4ToNumber(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4) throw new IpamError(`"${ip}" is not an IPv4 address`, 'invalid');
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) throw new IpamError(`"${ip}" is not an IPv4 address`, 'invalid');
    n = n * 256 + Number(p);
  }
  return n >>> 0;
}

/** Formats a 32-bit unsigned number as dotted IPv4. */
export function numberToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** A parsed IPv4 CIDR. */
export interface Ipv4Cidr {
  base: number;
  prefixLength: number;
  size: number;
  text: string;
}

/** Parses "a.b.c.d/n" (host bits must be zero). */
export function parseIpv4Cidr(cidr: string): Ipv4Cidr {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(cidr);
  if (!m) throw new IpamError(`"${cidr}" is not an IPv4 CIDR (want a.b.c.d/n)`, 'invalid');
  const prefixLength = Number(m[2]);
  if (prefixLength > 30 || prefixLength < 8) {
    throw new IpamError(`pod CIDR "${cidr}": prefix length must be between /8 and /30`, 'invalid');
  }
  const base = ipv4ToNumber(m[1]!);
  const size = 2 ** (32 - prefixLength);
  if (base % size !== 0) throw new IpamError(`pod CIDR "${cidr}" has host bits set`, 'invalid');
  return { base, prefixLength, size, text: `${numberToIpv4(base)}/${prefixLength}` };
}

/** Allocates IPv4 addresses of one pod CIDR to owners (container ids). */
export class Ipv4Allocator {
  readonly cidr: Ipv4Cidr;
  /** address number -> owner */
  private readonly used = new Map<number, string>();
  private next: number;

  constructor(cidr: string) {
    this.cidr = parseIpv4Cidr(cidr);
    this.next = this.cidr.base + 2;
  }

  /** The router address pods use as gateway (first usable address). */
  get router(): string {
    return numberToIpv4(this.cidr.base + 1);
  }

  /** Number of addresses still free. */
  get available(): number {
    return this.cidr.size - 3 - this.used.size;
  }

  /** Allocates the next free address, or `ip` when given. */
  allocate(owner: string, ip?: string): string {
    if (!owner) throw new IpamError('an owner is required to allocate an address', 'invalid');
    if (ip) {
      const n = ipv4ToNumber(ip);
      this.checkInRange(n, ip);
      const cur = this.used.get(n);
      if (cur !== undefined && cur !== owner) throw new IpamError(`${ip} is already allocated to ${cur}`, 'in-use');
      this.used.set(n, owner);
      return ip;
    }
    const first = this.cidr.base + 2;
    const last = this.cidr.base + this.cidr.size - 2;
    const span = last - first + 1;
    for (let i = 0; i < span; i++) {
      const n = first + ((this.next - first + i) % span);
      if (!this.used.has(n)) {
        this.used.set(n, owner);
        this.next = n + 1 > last ? first : n + 1;
        return numberToIpv4(n);
      }
    }
    throw new IpamError(`pod CIDR ${this.cidr.text} is exhausted (${this.used.size} addresses in use)`, 'exhausted');
  }

  /** Releases one address; returns whether it was allocated. */
  release(ip: string): boolean {
    return this.used.delete(ipv4ToNumber(ip));
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
    return [...this.used.entries()].sort((a, b) => a[0] - b[0]).map(([n, owner]) => ({ ip: numberToIpv4(n), owner }));
  }

  private checkInRange(n: number, ip: string): void {
    if (n <= this.cidr.base + 1 || n >= this.cidr.base + this.cidr.size - 1) {
      throw new IpamError(`${ip} is not an allocatable address of pod CIDR ${this.cidr.text}`, 'out-of-range');
    }
  }
}
