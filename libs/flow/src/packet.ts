// L2-L4 packet decoding (Ethernet, IPv4, IPv6 with extension headers, TCP, UDP, ICMPv4,
// ICMPv6, SCTP). Built for captured prefixes of packets: it never throws on truncated or
// garbage bytes and returns every layer it could decode.
import { formatIPv4, formatIPv6 } from '@cilium-ts/netaddr';

/** TCP flag bits as decoded from the header. */
export interface TcpFlagBits {
  FIN: boolean;
  SYN: boolean;
  RST: boolean;
  PSH: boolean;
  ACK: boolean;
  URG: boolean;
  ECE: boolean;
  CWR: boolean;
  NS: boolean;
}

/** The transport layer of a decoded packet. */
export type DecodedL4 =
  | { kind: 'tcp'; sourcePort: number; destinationPort: number; flags: TcpFlagBits }
  | { kind: 'udp'; sourcePort: number; destinationPort: number }
  | { kind: 'sctp'; sourcePort: number; destinationPort: number }
  | { kind: 'icmpv4'; type: number; code: number }
  | { kind: 'icmpv6'; type: number; code: number };

/** Every layer decodePacket could read; `layers` names them in order (gopacket-style names). */
export interface DecodedPacket {
  ethernet?: { source: string; destination: string; etherType: number };
  ip?: { version: 4 | 6; source: string; destination: string; protocol: number };
  l4?: DecodedL4;
  layers: string[];
  /** True when the bytes ended before a layer the headers announced was complete. */
  truncated: boolean;
}

/** EtherType of IPv4. */
export const ETH_P_IP = 0x0800;
/** EtherType of IPv6. */
export const ETH_P_IPV6 = 0x86dd;
const ETH_P_ARP = 0x0806;
const ETH_P_8021Q = 0x8100;

const HEX_BYTE = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/**
 * Formatted MAC and IPv4 addresses by numeric value: a node sees the same few addresses in
 * packet after packet, so each string is made once (and flows share it) instead of per packet.
 * Bounded: a cache is emptied when it reaches ADDRESS_CACHE_MAX entries.
 */
const ADDRESS_CACHE_MAX = 65536;
const macCache = new Map<number, string>();
const ipv4Cache = new Map<number, string>();

function mac(buf: Uint8Array, off: number): string {
  const key = (buf[off]! * 0x10000 + ((buf[off + 1]! << 8) | buf[off + 2]!)) * 0x1000000 + ((buf[off + 3]! << 16) | (buf[off + 4]! << 8) | buf[off + 5]!);
  let text = macCache.get(key);
  if (text === undefined) {
    text = `${HEX_BYTE[buf[off]!]}:${HEX_BYTE[buf[off + 1]!]}:${HEX_BYTE[buf[off + 2]!]}:${HEX_BYTE[buf[off + 3]!]}:${HEX_BYTE[buf[off + 4]!]}:${HEX_BYTE[buf[off + 5]!]}`;
    if (macCache.size >= ADDRESS_CACHE_MAX) macCache.clear();
    macCache.set(key, text);
  }
  return text;
}

/** formatIPv4 through the address cache. */
function ipv4(buf: Uint8Array, off: number): string {
  const key = buf[off]! * 0x1000000 + ((buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!);
  let text = ipv4Cache.get(key);
  if (text === undefined) {
    text = formatIPv4(buf, off);
    if (ipv4Cache.size >= ADDRESS_CACHE_MAX) ipv4Cache.clear();
    ipv4Cache.set(key, text);
  }
  return text;
}

/**
 * The source and destination address strings decodePacket would report (`ip.source`,
 * `ip.destination`), without decoding the rest: Ethernet + IPv4 is read directly, anything
 * else through decodePacket.
 */
export function packetAddresses(bytes: Uint8Array): { source: string; destination: string } | undefined {
  if (bytes.length >= 34 && bytes[12] === 0x08 && bytes[13] === 0x00 && bytes[14]! >> 4 === 4) {
    return { source: ipv4(bytes, 26), destination: ipv4(bytes, 30) };
  }
  return decodePacket(bytes).ip;
}

function u16(buf: Uint8Array, off: number): number {
  return (buf[off]! << 8) | buf[off + 1]!;
}

/** Decodes a packet starting at its Ethernet header. */
export function decodePacket(bytes: Uint8Array): DecodedPacket {
  const out: DecodedPacket = { layers: [], truncated: false };
  if (bytes.length < 14) {
    out.truncated = bytes.length > 0;
    return out;
  }
  let etherType = u16(bytes, 12);
  let off = 14;
  out.ethernet = { destination: mac(bytes, 0), source: mac(bytes, 6), etherType };
  out.layers.push('Ethernet');
  while (etherType === ETH_P_8021Q) {
    if (bytes.length < off + 4) {
      out.truncated = true;
      return out;
    }
    etherType = u16(bytes, off + 2);
    off += 4;
    out.layers.push('Dot1Q');
  }
  out.ethernet.etherType = etherType;
  if (etherType === ETH_P_IP) decodeIPv4(bytes, off, out);
  else if (etherType === ETH_P_IPV6) decodeIPv6(bytes, off, out);
  else if (etherType === ETH_P_ARP) out.layers.push('ARP');
  return out;
}

/** Decodes a packet starting at its IPv4 or IPv6 header (version taken from the first nibble). */
export function decodeIPPacket(bytes: Uint8Array): DecodedPacket {
  const out: DecodedPacket = { layers: [], truncated: false };
  if (bytes.length === 0) return out;
  const version = bytes[0]! >> 4;
  if (version === 4) decodeIPv4(bytes, 0, out);
  else if (version === 6) decodeIPv6(bytes, 0, out);
  return out;
}

function decodeIPv4(bytes: Uint8Array, off: number, out: DecodedPacket): void {
  if (bytes.length < off + 20 || bytes[off]! >> 4 !== 4) {
    out.truncated = bytes.length < off + 20;
    return;
  }
  const ihl = (bytes[off]! & 0x0f) * 4;
  const protocol = bytes[off + 9]!;
  out.ip = { version: 4, source: ipv4(bytes, off + 12), destination: ipv4(bytes, off + 16), protocol };
  out.layers.push('IPv4');
  if (ihl < 20) return;
  const fragOffset = u16(bytes, off + 6) & 0x1fff;
  if (fragOffset !== 0) {
    out.layers.push('Fragment');
    return;
  }
  decodeL4(bytes, off + ihl, protocol, out);
}

const IPV6_EXT_HEADERS = new Set([0, 43, 60, 51]);
const IPPROTO_FRAGMENT = 44;

function decodeIPv6(bytes: Uint8Array, off: number, out: DecodedPacket): void {
  if (bytes.length < off + 40 || bytes[off]! >> 4 !== 6) {
    out.truncated = bytes.length < off + 40;
    return;
  }
  let next = bytes[off + 6]!;
  out.ip = { version: 6, source: formatIPv6(bytes, off + 8), destination: formatIPv6(bytes, off + 24), protocol: next };
  out.layers.push('IPv6');
  let pos = off + 40;
  for (let hops = 0; hops < 8; hops++) {
    if (next === IPPROTO_FRAGMENT) {
      if (bytes.length < pos + 8) {
        out.truncated = true;
        return;
      }
      const fragOffset = u16(bytes, pos + 2) >> 3;
      next = bytes[pos]!;
      pos += 8;
      out.ip.protocol = next;
      if (fragOffset !== 0) {
        out.layers.push('Fragment');
        return;
      }
      continue;
    }
    if (!IPV6_EXT_HEADERS.has(next)) break;
    if (bytes.length < pos + 2) {
      out.truncated = true;
      return;
    }
    const len = next === 51 ? (bytes[pos + 1]! + 2) * 4 : (bytes[pos + 1]! + 1) * 8;
    next = bytes[pos]!;
    pos += len;
    out.ip.protocol = next;
  }
  decodeL4(bytes, pos, next, out);
}

function decodeL4(bytes: Uint8Array, off: number, protocol: number, out: DecodedPacket): void {
  const avail = bytes.length - off;
  switch (protocol) {
    case 6: {
      if (avail < 14) break;
      const f = bytes[off + 13]!;
      const ns = (bytes[off + 12]! & 0x01) !== 0;
      out.l4 = {
        kind: 'tcp',
        sourcePort: u16(bytes, off),
        destinationPort: u16(bytes, off + 2),
        flags: {
          FIN: (f & 0x01) !== 0,
          SYN: (f & 0x02) !== 0,
          RST: (f & 0x04) !== 0,
          PSH: (f & 0x08) !== 0,
          ACK: (f & 0x10) !== 0,
          URG: (f & 0x20) !== 0,
          ECE: (f & 0x40) !== 0,
          CWR: (f & 0x80) !== 0,
          NS: ns,
        },
      };
      out.layers.push('TCP');
      return;
    }
    case 17:
      if (avail < 4) break;
      out.l4 = { kind: 'udp', sourcePort: u16(bytes, off), destinationPort: u16(bytes, off + 2) };
      out.layers.push('UDP');
      return;
    case 132:
      if (avail < 4) break;
      out.l4 = { kind: 'sctp', sourcePort: u16(bytes, off), destinationPort: u16(bytes, off + 2) };
      out.layers.push('SCTP');
      return;
    case 1:
      if (avail < 2) break;
      out.l4 = { kind: 'icmpv4', type: bytes[off]!, code: bytes[off + 1]! };
      out.layers.push('ICMPv4');
      return;
    case 58:
      if (avail < 2) break;
      out.l4 = { kind: 'icmpv6', type: bytes[off]!, code: bytes[off + 1]! };
      out.layers.push('ICMPv6');
      return;
    default:
      return;
  }
  out.truncated = true;
}
