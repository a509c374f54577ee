// Builds real Ethernet/IP/L4 packet bytes (with IPv4 header checksums) for tests and
// fake datapaths; the inverse of decodePacket for the fields it covers.
import { parseIP } from '@cilium-ts/netaddr';
import type { TcpFlagBits } from '../packet.js';

/** What buildPacket should write. */
export interface PacketSpec {
  srcMac?: string;
  dstMac?: string;
  src: string;
  dst: string;
  l4:
    | { kind: 'tcp'; sourcePort: number; destinationPort: number; flags?: Partial<TcpFlagBits> }
    | { kind: 'udp'; sourcePort: number; destinationPort: number }
    | { kind: 'sctp'; sourcePort: number; destinationPort: number }
    | { kind: 'icmp'; type: number; code: number };
  /** Payload bytes after the L4 header. */
  payload?: Uint8Array;
}

/** Raised when a PacketSpec names an invalid address. */
export class PacketSpecError extends Error {
  override readonly name = 'PacketSpecError';
  constructor(
    readonly field: string,
    readonly value: string,
  ) {
    super(`build packet: ${field} "${value}" is not a valid address; pass an IPv4/IPv6 address or a MAC like 02:00:00:00:00:01`);
  }
}

function macBytes(field: string, s: string): number[] {
  const parts = s.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) throw new PacketSpecError(field, s);
  return parts.map((p) => parseInt(p, 16));
}

function checksum(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i]! << 8) | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function l4Header(spec: PacketSpec, v6: boolean): { proto: number; bytes: Buffer } {
  const l4 = spec.l4;
  switch (l4.kind) {
    case 'tcp': {
      const b = Buffer.alloc(20);
      b.writeUInt16BE(l4.sourcePort, 0);
      b.writeUInt16BE(l4.destinationPort, 2);
      b.writeUInt32BE(1000, 4);
      const f = l4.flags ?? {};
      b.writeUInt32BE(f.ACK ? 2000 : 0, 8);
      b[12] = (5 << 4) | (f.NS ? 1 : 0);
      b[13] =
        (f.FIN ? 0x01 : 0) | (f.SYN ? 0x02 : 0) | (f.RST ? 0x04 : 0) | (f.PSH ? 0x08 : 0) |
        (f.ACK ? 0x10 : 0) | (f.URG ? 0x20 : 0) | (f.ECE ? 0x40 : 0) | (f.CWR ? 0x80 : 0);
      b.writeUInt16BE(64240, 14);
      return { proto: 6, bytes: b };
    }
    case 'udp':
    case 'sctp': {
      const b = Buffer.alloc(l4.kind === 'udp' ? 8 : 12);
      b.writeUInt16BE(l4.sourcePort, 0);
      b.writeUInt16BE(l4.destinationPort, 2);
      if (l4.kind === 'udp') b.writeUInt16BE(8 + (spec.payload?.length ?? 0), 4);
      return { proto: l4.kind === 'udp' ? 17 : 132, bytes: b };
    }
    case 'icmp': {
      const b = Buffer.alloc(8);
      b[0] = l4.type;
      b[1] = l4.code;
      b.writeUInt16BE(1, 4);
      b.writeUInt16BE(1, 6);
      if (!v6) b.writeUInt16BE(checksum(b), 2);
      return { proto: v6 ? 58 : 1, bytes: b };
    }
  }
}

/** Builds an Ethernet frame carrying IPv4 or IPv6 (chosen by the address family of `src`). */
export function buildPacket(spec: PacketSpec): Buffer {
  const src = parseIP(spec.src);
  const dst = parseIP(spec.dst);
  if (!src) throw new PacketSpecError('src', spec.src);
  if (!dst || dst.length !== src.length) throw new PacketSpecError('dst', spec.dst);
  const v6 = src.length === 16;
  const { proto, bytes: l4 } = l4Header(spec, v6);
  const payload = Buffer.from(spec.payload ?? new Uint8Array(0));
  const eth = Buffer.alloc(14);
  Buffer.from(macBytes('dstMac', spec.dstMac ?? '02:00:00:00:00:02')).copy(eth, 0);
  Buffer.from(macBytes('srcMac', spec.srcMac ?? '02:00:00:00:00:01')).copy(eth, 6);
  eth.writeUInt16BE(v6 ? 0x86dd : 0x0800, 12);
  let ip: Buffer;
  if (v6) {
    ip = Buffer.alloc(40);
    ip.writeUInt32BE(0x60000000, 0);
    ip.writeUInt16BE(l4.length + payload.length, 4);
    ip[6] = proto;
    ip[7] = 64;
    ip.set(src, 8);
    ip.set(dst, 24);
  } else {
    ip = Buffer.alloc(20);
    ip[0] = 0x45;
    ip.writeUInt16BE(20 + l4.length + payload.length, 2);
    ip.writeUInt16BE(0x4000, 6);
    ip[8] = 64;
    ip[9] = proto;
    ip.set(src, 12);
    ip.set(dst, 16);
    ip.writeUInt16BE(checksum(ip), 10);
  }
  return Buffer.concat([eth, ip, l4, payload]);
}
