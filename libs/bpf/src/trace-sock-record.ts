// The trace sock record (bpf/trace-sock.h, docs/CONTRACTS.md "Trace sock record"): what
// the socket load balancer translated a pod's connect() / sendmsg() to, or what recvmsg() /
// getpeername() showed instead of a backend. The 48-byte header of every record (type 7,
// sub_type = translation point, source = the socket's endpoint, flags; cap_len 32) and 32
// more bytes (cookies and the address), which readers keep as they keep a packet.
import { EVENT_HEADER_LEN, RecordFlag } from './event-record.js';

/** Event type of trace sock records (Cilium's MessageTypeTraceSock). */
export const TRACE_SOCK_TYPE = 7;
/** Bytes of a trace sock record. */
export const TRACE_SOCK_RECORD_LEN = 80;
/** Translation points (sub_type), Cilium's enum xlate_point and flow.SocketTranslationPoint. */
export const XlatePoint = { preDirectionFwd: 1, postDirectionFwd: 2, preDirectionRev: 3, postDirectionRev: 4 } as const;

/** A decoded trace sock record. */
export interface TraceSockRecord {
  /** XlatePoint. */
  xlatePoint: number;
  /** Endpoint id of the socket's network namespace; 0 when it is no known endpoint's. */
  endpointId: number;
  ipv6: boolean;
  /** The service (its id, also the reverse-NAT index). */
  revNatIndex: number;
  /** The destination at this point: the frontend before a forward translation, the backend after it; the reverse way round for recvmsg. */
  address: string;
  port: number;
  /** IP protocol number (6 TCP, 17 UDP). */
  protocol: number;
  socketCookie: bigint;
  cgroupId: bigint;
  ktimeNs: bigint;
}

/** Raised for bytes that are no whole trace sock record. */
export class TraceSockRecordError extends Error {
  override readonly name = 'TraceSockRecordError';
  constructor(readonly length: number) {
    super(`decode trace sock record: got ${length} bytes, need ${TRACE_SOCK_RECORD_LEN} (type ${TRACE_SOCK_TYPE}, bpf/trace-sock.h)`);
  }
}

function ipText(b: Uint8Array, off: number, v6: boolean): string {
  if (!v6) return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[off + i]! << 8) | b[off + i + 1]!).toString(16));
  // Canonical form: the longest run (2+) of zero groups becomes '::'.
  let best = -1;
  let len = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > len && j - i >= 2) [best, len] = [i, j - i];
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + len).join(':')}`;
}

/** Decodes a trace sock record; throws TraceSockRecordError when it is shorter than 80 bytes. */
export function decodeTraceSockRecord(b: Uint8Array): TraceSockRecord {
  if (b.length < TRACE_SOCK_RECORD_LEN) throw new TraceSockRecordError(b.length);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const ipv6 = (b[15]! & RecordFlag.ipv6) !== 0;
  return {
    xlatePoint: b[1]!,
    endpointId: v.getUint16(2, true),
    ipv6,
    revNatIndex: v.getUint16(20, true),
    port: v.getUint16(22, true),
    protocol: b[24]!,
    ktimeNs: v.getBigUint64(40, true),
    socketCookie: v.getBigUint64(EVENT_HEADER_LEN, true),
    cgroupId: v.getBigUint64(56, true),
    address: ipText(b, 64, ipv6),
  };
}

/** Writes a trace sock record (the inverse of decodeTraceSockRecord; for tests and fakes). */
export function encodeTraceSockRecord(r: Omit<TraceSockRecord, 'ipv6' | 'ktimeNs' | 'socketCookie' | 'cgroupId'> & Partial<TraceSockRecord>): Buffer {
  const out = Buffer.alloc(TRACE_SOCK_RECORD_LEN);
  const ipv6 = r.address.includes(':');
  out.writeUInt8(TRACE_SOCK_TYPE, 0);
  out.writeUInt8(r.xlatePoint, 1);
  out.writeUInt16LE(r.endpointId, 2);
  out.writeUInt16LE(TRACE_SOCK_RECORD_LEN - EVENT_HEADER_LEN, 12);
  out.writeUInt8(1, 14);
  const fwd = r.xlatePoint <= XlatePoint.postDirectionFwd;
  out.writeUInt8((fwd ? RecordFlag.egress : RecordFlag.reply) | (ipv6 ? RecordFlag.ipv6 : 0), 15);
  out.writeUInt16LE(r.revNatIndex, 20);
  out.writeUInt16LE(r.port, 22);
  out.writeUInt8(r.protocol, 24);
  out.writeBigUInt64LE(r.ktimeNs ?? 0n, 40);
  out.writeBigUInt64LE(r.socketCookie ?? 0n, 48);
  out.writeBigUInt64LE(r.cgroupId ?? 0n, 56);
  if (ipv6) {
    const [head, tail = ''] = r.address.split('::');
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    const groups = r.address.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
    groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), 64 + 2 * i));
  } else {
    r.address.split('.').forEach((o, i) => out.writeUInt8(Number(o), 64 + i));
  }
  return out;
}
