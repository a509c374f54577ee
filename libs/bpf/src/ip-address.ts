// IP address and CIDR <-> bytes, as the datapath maps store them (network order), with
// errors naming the input; the text itself is read and written by @cilium-ts/netaddr.
import { formatIPv4, formatIPv6, parseIP } from '@cilium-ts/netaddr';
import { DatapathInputError } from './errors.js';

/** A parsed address: family 4 or 6 and 4 or 16 bytes in network order. */
export interface IpBytes { family: 4 | 6; bytes: Buffer }

/** Parses an IPv4 or IPv6 address (a zone such as %eth0 is dropped); field names the input in errors. */
export function parseIp(text: string, field = 'ip'): IpBytes {
  const zone = text.indexOf('%');
  const bytes = parseIP(zone >= 0 && text.includes(':') ? text.slice(0, zone) : text);
  if (!bytes) throw new DatapathInputError(field, text, 'not an IPv4 or IPv6 address');
  return { family: bytes.length === 4 ? 4 : 6, bytes: Buffer.from(bytes) };
}

/** Formats 4 or 16 network-order bytes as text (IPv6 in RFC 5952 short form). */
export function formatIp(family: 4 | 6, bytes: Buffer): string {
  return family === 4 ? formatIPv4(bytes) : formatIPv6(bytes, 0, false);
}

/** A parsed CIDR; a bare address means a host route (/32 or /128). */
export interface Cidr extends IpBytes { prefixLen: number }

/** Parses "10.0.0.0/8", "fd00::/64" or a bare address; host bits are cleared. */
export function parseCidr(text: string, field = 'cidr'): Cidr {
  const slash = text.indexOf('/');
  const ip = parseIp(slash < 0 ? text : text.slice(0, slash), field);
  const max = ip.family === 4 ? 32 : 128;
  const prefixLen = slash < 0 ? max : Number(text.slice(slash + 1));
  if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > max || (slash >= 0 && text.slice(slash + 1) === '')) {
    throw new DatapathInputError(field, text, `prefix length must be an integer 0..${max}`);
  }
  const bytes = Buffer.from(ip.bytes);
  for (let bit = prefixLen; bit < max; bit++) bytes[bit >> 3] &= ~(0x80 >> (bit & 7));
  return { family: ip.family, bytes, prefixLen };
}

/** Canonical text of a CIDR ("10.1.0.0/16"). */
export function formatCidr(c: Cidr): string {
  return `${formatIp(c.family, c.bytes)}/${c.prefixLen}`;
}
