/**
 * Host-scope IPAM for IPv6: hands out pod addresses from this node's IPv6 pod CIDR
 * (e.g. fd00:10:200::100/120 cut by the operator, or --pod-cidr-v6). The first address
 * after the subnet-router anycast address is the router (cilium_host); the anycast
 * address itself is never handed out. Pure state; persistence is the caller's.
 */
import { formatPrefix, parseIP } from '@cilium-ts/policy';
import { IpamError } from './ipam.js';

const MAX_128 = (1n << 128n) - 1n;

/** Parses an IPv6 address (RFC 4291 text, `::` compression, no zone) into a 128-bit bigint; throws IpamError. */
export function ipv6ToBigInt(ip: string): bigint {
  const parsed = parseIP(ip);
  if (!parsed || parsed.family !== 6) throw new IpamError(`"${ip}" is not an IPv6 address`, 'invalid');
  return parsed.addr;
}

/** Formats a 128-bit bigint as canonical IPv6 text (RFC 5952: lower case, longest zero run compressed). */
export function bigIntToIpv6(n: bigint): string {
  return formatPrefix({ family: 6, addr: n, bits: 128 }).slice(0, -'/128'.length);
}

/** A parsed IPv6 CIDR. */
export interface Ipv6Cidr {
  base: bigint;
  prefixLength: number;
  size: bigint;
  text: string;
}

/** Parses "addr/n" (host bits must be zero; /64 to /126). */
export function parseIpv6Cidr(cidr: string): Ipv6Cidr {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(cidr);
  if (!m) throw new IpamError(`"${cidr}" is not an IPv6 CIDR (want e.g. fd00:10:200::100/120)`, 'invalid');
  const prefixLength = Number(m[2]);
  if (prefixLength > 126 || prefixLength < 64) {
    throw new IpamError(`IPv6 pod CIDR "${cidr}": prefix length must be between /64 and /126`, 'invalid');
  }
  const base = ipv6ToBigInt(m[1]!);
  const size = 1n << BigInt(128 - prefixLength);
  if (base % size !== 0n) throw new IpamError(`IPv6 pod CIDR "${cidr}" has host bits set`, 'invalid');
  return { base, prefixLength, size, text: `${bigIntToIpv6(base)}/${prefixLength}` };
}

/** Allocates IPv6 addresses of one pod CIDR to owners (container ids). */
export class Ipv6Allocator {
  readonly cidr: Ipv6Cidr;
  /** address -> owner */
  private readonly used = new Map<bigint, string>();
  private next: bigint;

  constructor(cidr: string) {
    this.cidr = parseIpv6Cidr(cidr);
    this.next = this.cidr.base + 2n;
  }

  /** The router address pods use as gateway (first address after the subnet-router anycast). */
  get router(): string {
    return bigIntToIpv6(this.cidr.base + 1n);
  }

  /** Number of addresses still free, capped at 2^32-1 (a /64 has far more). */
  get available(): number {
    const free = this.cidr.size - 2n - BigInt(this.used.size);
    return free > 0xffffffffn ? 0xffffffff : Number(free);
  }

  /** Allocates the next free address, or `ip` when given. */
  allocate(owner: string, ip?: string): string {
    if (!owner) throw new IpamError('an owner is required to allocate an address', 'invalid');
    if (ip) {
      const n = ipv6ToBigInt(ip);
      this.checkInRange(n, ip);
      const cur = this.used.get(n);
      if (cur !== undefined && cur !== owner) throw new IpamError(`${ip} is already allocated to ${cur}`, 'in-use');
      this.used.set(n, owner);
      return bigIntToIpv6(n);
    }
    const first = this.cidr.base + 2n;
    const last = this.cidr.base + this.cidr.size - 1n;
    const span = last - first + 1n;
    // At most used.size + 1 probes find a free address when one exists.
    const probes = BigInt(this.used.size) + 1n < span ? BigInt(this.used.size) + 1n : span;
    for (let i = 0n; i < probes; i++) {
      const n = first + ((this.next - first + i) % span);
      if (!this.used.has(n)) {
        this.used.set(n, owner);
        this.next = n + 1n > last ? first : n + 1n;
        return bigIntToIpv6(n);
      }
    }
    throw new IpamError(`IPv6 pod CIDR ${this.cidr.text} is exhausted (${this.used.size} addresses in use)`, 'exhausted');
  }

  /** Releases one address; returns whether it was allocated. */
  release(ip: string): boolean {
    return this.used.delete(ipv6ToBigInt(ip));
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
    return [...this.used.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([n, owner]) => ({ ip: bigIntToIpv6(n), owner }));
  }

  private checkInRange(n: bigint, ip: string): void {
    if (n <= this.cidr.base + 1n || n > this.cidr.base + this.cidr.size - 1n || n > MAX_128) {
      throw new IpamError(`${ip} is not an allocatable address of IPv6 pod CIDR ${this.cidr.text}`, 'out-of-range');
    }
  }
}
