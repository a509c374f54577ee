/**
 * Host-scope IPAM: hands out pod addresses from this node's pod CIDR. The first
 * usable address is the router (cilium_host); network and broadcast are never handed out.
 * Pure state; persistence is the caller's (see state-store.ts).
 */

import { formatIPAddr, parseIPAddr } from '@cilium-ts/netaddr';
import { AddressPool, IpamError } from './address-pool.js';

export { IpamError };

/** Parses dotted IPv4 into a 32-bit unsigned number; throws on bad input. */
export function ipv4ToNumber(ip: string): number {
  const parsed = parseIPAddr(ip);
  if (!parsed || parsed.family !== 4) throw new IpamError(`"${ip}" is not an IPv4 address`, 'invalid');
  return Number(parsed.addr);
}

/** Formats a 32-bit unsigned number as dotted IPv4. */
export function numberToIpv4(n: number): string {
  return formatIPAddr({ family: 4, addr: BigInt(n) });
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

/** IPv4 for the shared pool: network and broadcast are never handed out. */
const IPV4 = { label: 'pod CIDR', parse: (ip: string) => BigInt(ipv4ToNumber(ip)), format: (n: bigint) => numberToIpv4(Number(n)), reservedAtEnd: 1n };

/** Allocates IPv4 addresses of one pod CIDR to owners (container ids). */
export class Ipv4Allocator extends AddressPool {
  readonly cidr: Ipv4Cidr;

  constructor(cidr: string) {
    const c = parseIpv4Cidr(cidr);
    super({ base: BigInt(c.base), size: BigInt(c.size), prefixLength: c.prefixLength, text: c.text }, IPV4);
    this.cidr = c;
  }
}
