/**
 * Host-scope IPAM for IPv6: hands out pod addresses from this node's IPv6 pod CIDR
 * (e.g. fd00:10:200::100/120 cut by the operator, or --pod-cidr-v6). The first address
 * after the subnet-router anycast address is the router (cilium_host); the anycast
 * address itself is never handed out. Pure state; persistence is the caller's.
 */
import { formatIPAddr, parseIPAddr } from '@cilium-ts/netaddr';
import { AddressPool, IpamError } from './address-pool.js';

/** Parses an IPv6 address (RFC 4291 text, `::` compression, no zone) into a 128-bit bigint; throws IpamError. */
export function ipv6ToBigInt(ip: string): bigint {
  const parsed = parseIPAddr(ip);
  if (!parsed || parsed.family !== 6) throw new IpamError(`"${ip}" is not an IPv6 address`, 'invalid');
  return parsed.addr;
}

/** Formats a 128-bit bigint as canonical IPv6 text (RFC 5952: lower case, longest zero run compressed). */
export function bigIntToIpv6(n: bigint): string {
  return formatIPAddr({ family: 6, addr: n });
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

/** IPv6 for the shared pool: the subnet-router anycast address (the base) is never handed out. */
const IPV6 = { label: 'IPv6 pod CIDR', parse: ipv6ToBigInt, format: bigIntToIpv6, reservedAtEnd: 0n };

/** Allocates IPv6 addresses of one pod CIDR to owners (container ids). */
export class Ipv6Allocator extends AddressPool {
  readonly cidr: Ipv6Cidr;

  constructor(cidr: string) {
    const c = parseIpv6Cidr(cidr);
    super(c, IPV6);
    this.cidr = c;
  }
}
