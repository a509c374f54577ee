// Crafted Ethernet frames for tests and benchmarks: BPF_PROG_TEST_RUN input, and the
// packets of datapath records for the flow parser's tests (@cilium-ts/flow imports this).
// IPv4 header and ICMPv4 checksums are filled in; TCP/UDP checksums are left zero (the
// datapath does not verify them).
import { parseIp } from '../ip-address.js';

/** IP protocol numbers. */
export const Proto = { icmp: 1, tcp: 6, udp: 17, icmpv6: 58, sctp: 132 } as const;
/** TCP flag bits (ns is the ninth bit, in the data-offset byte). */
export const TcpFlags = { fin: 0x01, syn: 0x02, rst: 0x04, psh: 0x08, ack: 0x10, urg: 0x20, ece: 0x40, cwr: 0x80, ns: 0x100 } as const;

/** What to put in a frame; the IP version follows the addresses. */
export interface PacketSpec {
  /** Ethernet source (default 02:00:00:00:00:01) and destination (default 02:00:00:00:00:02). */
  srcMac?: string;
  dstMac?: string;
  src: string;
  dst: string;
  protocol: keyof typeof Proto | number;
  sport?: number;
  dport?: number;
  /** TCP flags, TcpFlags bits (default SYN). */
  tcpFlags?: number;
  /** ICMP / ICMPv6 type (default echo request) and code. */
  icmpType?: number;
  icmpCode?: number;
  /** ICMP echo identifier. */
  icmpId?: number;
  /** Bytes after the L4 header (for ICMP errors: the quoted IP packet). */
  payload?: Uint8Array;
}

/** Raised when a PacketSpec names an invalid MAC address. */
export class PacketSpecError extends Error {
  override readonly name = 'PacketSpecError';
  constructor(
    readonly field: string,
    readonly value: string,
  ) {
    super(`build packet: ${field} "${value}" is not a valid MAC address; pass one like 02:00:00:00:00:01`);
  }
}

function macBytes(field: string, s: string): Buffer {
  const parts = s.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) throw new PacketSpecError(field, s);
  return Buffer.from(parts.map((p) => parseInt(p, 16)));
}

/** The Internet checksum (RFC 1071) of bytes. */
function checksum(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i]! << 8) | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function l4Header(spec: PacketSpec, proto: number, v6: boolean): Buffer {
  switch (proto) {
    case Proto.tcp: {
      const h = Buffer.alloc(20);
      const flags = spec.tcpFlags ?? TcpFlags.syn;
      h.writeUInt16BE(spec.sport ?? 40000, 0);
      h.writeUInt16BE(spec.dport ?? 80, 2);
      h[12] = 0x50 | ((flags >> 8) & 1);
      h[13] = flags & 0xff;
      h.writeUInt16BE(64240, 14);
      return h;
    }
    case Proto.udp: {
      const h = Buffer.alloc(8);
      h.writeUInt16BE(spec.sport ?? 40000, 0);
      h.writeUInt16BE(spec.dport ?? 53, 2);
      h.writeUInt16BE(8 + (spec.payload?.length ?? 0), 4);
      return h;
    }
    case Proto.sctp: {
      const h = Buffer.alloc(12);
      h.writeUInt16BE(spec.sport ?? 40000, 0);
      h.writeUInt16BE(spec.dport ?? 9999, 2);
      return h;
    }
    case Proto.icmp:
    case Proto.icmpv6: {
      const h = Buffer.alloc(8);
      h[0] = spec.icmpType ?? (v6 ? 128 : 8);
      h[1] = spec.icmpCode ?? 0;
      h.writeUInt16BE(spec.icmpId ?? 1, 4);
      h.writeUInt16BE(1, 6);
      return h;
    }
    default:
      return Buffer.alloc(0);
  }
}

/** The IP packet (no Ethernet header) described by spec. */
export function buildIpPacket(spec: PacketSpec): Buffer {
  const src = parseIp(spec.src, 'src');
  const dst = parseIp(spec.dst, 'dst');
  if (src.family !== dst.family) throw new RangeError(`src ${spec.src} and dst ${spec.dst} are of different IP versions`);
  const proto = typeof spec.protocol === 'number' ? spec.protocol : Proto[spec.protocol];
  const v6 = src.family === 6;
  const l4 = Buffer.concat([l4Header(spec, proto, v6), spec.payload ?? Buffer.alloc(0)]);
  if (proto === Proto.icmp) l4.writeUInt16BE(checksum(l4), 2);
  if (v6) {
    const ip = Buffer.alloc(40);
    ip.writeUInt32BE(0x60000000, 0);
    ip.writeUInt16BE(l4.length, 4);
    ip[6] = proto;
    ip[7] = 64;
    src.bytes.copy(ip, 8);
    dst.bytes.copy(ip, 24);
    return Buffer.concat([ip, l4]);
  }
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + l4.length, 2);
  ip.writeUInt16BE(0x4000, 6); // don't fragment
  ip[8] = 64;
  ip[9] = proto;
  src.bytes.copy(ip, 12);
  dst.bytes.copy(ip, 16);
  ip.writeUInt16BE(checksum(ip), 10);
  return Buffer.concat([ip, l4]);
}

/** An Ethernet frame carrying the packet described by spec. */
export function buildPacket(spec: PacketSpec): Buffer {
  const ip = buildIpPacket(spec);
  const eth = Buffer.alloc(14);
  macBytes('dstMac', spec.dstMac ?? '02:00:00:00:00:02').copy(eth, 0);
  macBytes('srcMac', spec.srcMac ?? '02:00:00:00:00:01').copy(eth, 6);
  eth.writeUInt16BE((ip[0]! >> 4) === 6 ? 0x86dd : 0x0800, 12);
  return Buffer.concat([eth, ip]);
}
