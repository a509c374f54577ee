// IP address and CIDR <-> bytes, as the datapath maps store them (network order).
import { isIPv4, isIPv6 } from 'node:net';
import { DatapathInputError } from './errors.js';

/** A parsed address: family 4 or 6 and 4 or 16 bytes in network order. */
export interface IpBytes { family: 4 | 6; bytes: Buffer }

/** Parses an IPv4 or IPv6 address; field names the input in errors. */
export function parseIp(text: string, field = 'ip'): IpBytes {
  if (isIPv4(text)) return { family: 4, bytes: Buffer.from(text.split('.').map(Number)) };
  if (!isIPv6(text)) throw new DatapathInputError(field, text, 'not an IPv4 or IPv6 address');
  let s = text;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  const groups: number[] = [];
  const v4tail = s.includes('.') ? s.slice(s.lastIndexOf(':') + 1) : undefined;
  if (v4tail) s = s.slice(0, s.lastIndexOf(':') + 1) + '0:0';
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':').filter((x) => x !== '') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const fill = tail !== undefined ? 8 - h.length - t.length : 0;
  for (const g of h) groups.push(parseInt(g, 16));
  for (let i = 0; i < fill; i++) groups.push(0);
  for (const g of t) groups.push(parseInt(g, 16));
  const bytes = Buffer.alloc(16);
  groups.forEach((g, i) => bytes.writeUInt16BE(g, i * 2));
  if (v4tail) Buffer.from(v4tail.split('.').map(Number)).copy(bytes, 12);
  return { family: 6, bytes };
}

/** Formats 4 or 16 network-order bytes as text (IPv6 in RFC 5952 short form). */
export function formatIp(family: 4 | 6, bytes: Buffer): string {
  if (family === 4) return [...bytes.subarray(0, 4)].join('.');
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(bytes.readUInt16BE(i * 2));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
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
