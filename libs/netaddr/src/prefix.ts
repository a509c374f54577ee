// Addresses as numbers and CIDR prefixes (IPv4 / IPv6): parsing with reasons, formatting,
// containment. The text is read by ip-bytes.ts's parser, so every form is read one way.
import { formatIPv4, formatIPv6, parseIP } from './ip-bytes.js';

/** A parsed prefix: family, network address as a bigint (host bits zeroed), prefix length. */
export interface Prefix {
  family: 4 | 6;
  addr: bigint;
  bits: number;
}

/** An address as a number: family and the 32- or 128-bit value. */
export interface IPAddr {
  family: 4 | 6;
  addr: bigint;
}

/** Parses an IPv4 or IPv6 address into a number (for prefix and pool arithmetic); undefined when malformed. */
export function parseIPAddr(s: string): IPAddr | undefined {
  const bytes = parseIP(s);
  if (!bytes) return undefined;
  let addr = 0n;
  for (const b of bytes) addr = (addr << 8n) | BigInt(b);
  return { family: bytes.length === 4 ? 4 : 6, addr };
}

/** Formats an address number as text (IPv6 in RFC 5952 form, an IPv4-mapped one kept as IPv6). */
export function formatIPAddr(a: IPAddr): string {
  const bytes = new Uint8Array(a.family === 4 ? 4 : 16);
  let v = a.addr;
  for (let i = bytes.length - 1; i >= 0; i--, v >>= 8n) bytes[i] = Number(v & 0xffn);
  return a.family === 4 ? formatIPv4(bytes) : formatIPv6(bytes, 0, false);
}

/**
 * Parses `addr/bits` (or a bare address, as a host prefix). Host bits must be zero, as in
 * Cilium's CRD validation. Returns a reason string when malformed. IPv6 may use '-' for ':'
 * (the form CIDR labels use).
 */
export function parsePrefix(s: string): Prefix | string {
  const slash = s.indexOf('/');
  let addrStr = slash >= 0 ? s.slice(0, slash) : s;
  if (!addrStr.includes('.') && !addrStr.includes(':') && addrStr.includes('-')) addrStr = addrStr.replaceAll('-', ':');
  const ip = parseIPAddr(addrStr);
  if (!ip) return `${JSON.stringify(s)} is not a valid CIDR (an IPv4 or IPv6 address with an optional /prefix length)`;
  const max = ip.family === 4 ? 32 : 128;
  let bits = max;
  if (slash >= 0) {
    const b = s.slice(slash + 1);
    if (!/^\d{1,3}$/.test(b) || Number(b) > max) return `${JSON.stringify(s)} has an invalid prefix length (0-${max})`;
    bits = Number(b);
  }
  const hostMask = (1n << BigInt(max - bits)) - 1n;
  if ((ip.addr & hostMask) !== 0n) {
    return `${JSON.stringify(s)} has host bits set; use the network address ${formatPrefix({ family: ip.family, addr: ip.addr & ~hostMask, bits })}`;
  }
  return { family: ip.family, addr: ip.addr, bits };
}

/** Formats a prefix as `addr/bits`. */
export function formatPrefix(p: Prefix): string {
  return `${formatIPAddr(p)}/${p.bits}`;
}

/** True when prefix `inner` lies inside `outer` (same family, longer or equal prefix). */
export function prefixContains(outer: Prefix, inner: Prefix): boolean {
  if (outer.family !== inner.family || inner.bits < outer.bits) return false;
  const max = outer.family === 4 ? 32 : 128;
  const shift = BigInt(max - outer.bits);
  return inner.addr >> shift === outer.addr >> shift;
}
