// The datapath event record (docs/CONTRACTS.md "Datapath event record", bpf/events.h): the
// one place that knows its byte layout. Hot paths (hubble-server's parser and encoder) read
// single fields with the record* accessors, which allocate nothing; everyone else decodes
// the whole header with decodeEventRecord. Names of the numbers are in event-names.ts.

/** Event types (byte 0) the programs emit. */
export const EventType = { drop: 1, debug: 2, trace: 4, policyVerdict: 5 } as const;
/** Trace observation points used by the endpoint programs. */
export const TracePoint = { toEndpoint: 0, toProxy: 1, toOverlay: 4, fromEndpoint: 5, fromOverlay: 9 } as const;
/** Drop reasons the programs emit (Cilium numbering; texts in event-names.ts). */
export const DropReason = { policy: 133, invalid: 134, ctInvalidHeader: 135, unknownL3: 139, noConfig: 165, policyDeny: 181 } as const;
/** Policy match types of a policy verdict. */
export const MatchType = { none: 0, l3Only: 1, l3l4: 2, l4Only: 3, all: 4 } as const;
/** Bits of the flags byte (offset 15). */
export const RecordFlag = { reply: 0x01, egress: 0x02, ipv6: 0x04, allowed: 0x08, redirected: 0x10 } as const;
/** Bytes before the packet in a record. */
export const EVENT_HEADER_LEN = 48;

/**
 * A decoded event record header plus the captured packet bytes. Debug records (type 2)
 * carry args (arg1..arg3, bytes 16-27) instead of identities, endpoint and port, which
 * decode as 0; other records have args [0, 0, 0].
 */
export interface EventRecord {
  /** 1 drop, 2 debug, 4 trace, 5 policy verdict. */
  type: number;
  /** Drop reason (drops), debug message code (debug), trace observation point (traces), 0 (policy verdicts). */
  subType: number;
  /** Id of the endpoint whose program emitted the event. */
  source: number;
  hash: number;
  origLen: number;
  /** cap_len as the header says (the packet may be shorter when the record was cut). */
  capLen: number;
  version: number;
  isReply: boolean;
  /** True for the from-container program (egress of the pod), false for to-container. */
  egress: boolean;
  ipv6: boolean;
  /** Policy verdicts: the packet was allowed. */
  allowed: boolean;
  /** Policy verdict allowed by a redirect to the L7 proxy (flags bit 4). */
  redirected: boolean;
  /** Policy verdict: the drop reason when denied (bytes 30-31), else 0. */
  verdictDropReason: number;
  srcIdentity: number;
  dstIdentity: number;
  dstEndpoint: number;
  matchedPort: number;
  matchedProtocol: number;
  /** policy_match_type (MatchType) of policy verdicts. */
  matchType: number;
  ifindex: number;
  ktimeNs: bigint;
  /** The captured packet bytes from the Ethernet header: cap_len bytes, fewer when the record was cut. */
  packet: Buffer;
  args: [number, number, number];
}

/** Raised for bytes that cannot hold a record header. */
export class EventRecordError extends Error {
  override readonly name = 'EventRecordError';
  constructor(
    /** Length of the bytes given. */
    readonly length: number,
  ) {
    super(
      `decode datapath record: got ${length} bytes, need at least ${EVENT_HEADER_LEN} for the header ` +
        '(is the agent forwarding records unchanged, as docs/CONTRACTS.md requires?)',
    );
  }
}

// Hot-path accessors spell their byte math out (no shared helper) so that each inlines in one step.
const u32 = (b: Uint8Array, off: number): number => (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16)) + b[off + 3]! * 0x1000000;

/** Byte 0: the event type (EventType). The accessors below assume a whole header (check EVENT_HEADER_LEN first). */
export const recordType = (b: Uint8Array): number => b[0]!;
/** Byte 1: sub_type (drop reason, debug code, trace point). */
export const recordSubType = (b: Uint8Array): number => b[1]!;
/** Bytes 2-3: the id of the endpoint whose program emitted the event. */
export const recordSource = (b: Uint8Array): number => b[2]! | (b[3]! << 8);
/** Bytes 4-7: hash (debug records: the skb's flow hash). */
export const recordHash = (b: Uint8Array): number => (b[4]! | (b[5]! << 8) | (b[6]! << 16)) + b[7]! * 0x1000000;
/** Bytes 8-11: orig_len. */
export const recordOrigLen = (b: Uint8Array): number => (b[8]! | (b[9]! << 8) | (b[10]! << 16)) + b[11]! * 0x1000000;
/** Bytes 12-13: cap_len. */
export const recordCapLen = (b: Uint8Array): number => b[12]! | (b[13]! << 8);
/** Byte 14: version. */
export const recordVersion = (b: Uint8Array): number => b[14]!;
/** Byte 15: flags (RecordFlag bits). */
export const recordFlags = (b: Uint8Array): number => b[15]!;
/** Bytes 16-19: src_identity (debug records: arg1). */
export const recordSrcIdentity = (b: Uint8Array): number => (b[16]! | (b[17]! << 8) | (b[18]! << 16)) + b[19]! * 0x1000000;
/** Bytes 20-23: dst_identity (debug records: arg2). */
export const recordDstIdentity = (b: Uint8Array): number => (b[20]! | (b[21]! << 8) | (b[22]! << 16)) + b[23]! * 0x1000000;
/** Bytes 24-25: dst_endpoint id. */
export const recordDstEndpoint = (b: Uint8Array): number => b[24]! | (b[25]! << 8);
/** Bytes 26-27: matched port of a policy verdict. */
export const recordMatchedPort = (b: Uint8Array): number => b[26]! | (b[27]! << 8);
/** Byte 28: matched protocol of a policy verdict. */
export const recordMatchedProtocol = (b: Uint8Array): number => b[28]!;
/** Byte 29: policy_match_type (MatchType) of a policy verdict. */
export const recordMatchType = (b: Uint8Array): number => b[29]!;
/** Bytes 30-31 of a policy verdict: the drop reason when denied (0 = none given); 0 for other records. */
export const recordVerdictDropReason = (b: Uint8Array): number => (b[0] === EventType.policyVerdict ? b[30]! | (b[31]! << 8) : 0);
/** Bytes 32-35: ifindex of the interface the program runs on. */
export const recordIfindex = (b: Uint8Array): number => (b[32]! | (b[33]! << 8) | (b[34]! << 16)) + b[35]! * 0x1000000;
/** Bytes 40-47: ktime_ns (CLOCK_MONOTONIC). */
export const recordKtimeNs = (b: Uint8Array): bigint => (BigInt(u32(b, 44)) << 32n) | BigInt(u32(b, 40));
/** Debug records: arg1..arg3 (bytes 16-27). */
export const recordDebugArgs = (b: Uint8Array): [number, number, number] => [u32(b, 16), u32(b, 20), u32(b, 24)];
/** The captured packet bytes (cap_len of them, fewer when the record was cut), a view of `b`. */
export const recordPacket = (b: Uint8Array): Uint8Array =>
  b.subarray(EVENT_HEADER_LEN, Math.min(b.length, EVENT_HEADER_LEN + (b[12]! | (b[13]! << 8))));

/** Decodes one record; throws EventRecordError when the 48-byte header is incomplete. */
export function decodeEventRecord(b: Uint8Array): EventRecord {
  if (b.length < EVENT_HEADER_LEN) throw new EventRecordError(b.length);
  const flags = recordFlags(b);
  const debug = recordType(b) === EventType.debug;
  const packet = recordPacket(b);
  return {
    type: recordType(b), subType: recordSubType(b), source: recordSource(b), hash: recordHash(b), origLen: recordOrigLen(b),
    capLen: recordCapLen(b), version: recordVersion(b),
    isReply: (flags & RecordFlag.reply) !== 0, egress: (flags & RecordFlag.egress) !== 0,
    ipv6: (flags & RecordFlag.ipv6) !== 0, allowed: (flags & RecordFlag.allowed) !== 0, redirected: (flags & RecordFlag.redirected) !== 0,
    verdictDropReason: recordVerdictDropReason(b),
    srcIdentity: debug ? 0 : recordSrcIdentity(b), dstIdentity: debug ? 0 : recordDstIdentity(b),
    dstEndpoint: debug ? 0 : recordDstEndpoint(b), matchedPort: debug ? 0 : recordMatchedPort(b),
    matchedProtocol: debug ? 0 : recordMatchedProtocol(b), matchType: debug ? 0 : recordMatchType(b),
    ifindex: recordIfindex(b), ktimeNs: recordKtimeNs(b),
    packet: Buffer.from(packet.buffer, packet.byteOffset, packet.length),
    args: debug ? recordDebugArgs(b) : [0, 0, 0],
  };
}

/** Fields for encodeEventRecord; omitted numbers are 0 (version 1, orig_len and cap_len the packet's length), omitted flags false. */
export type EventRecordInit = Partial<Omit<EventRecord, 'packet'>> & { type: number; packet?: Uint8Array };

/**
 * Writes a record in the CONTRACTS.md layout, the inverse of decodeEventRecord (for tests and
 * fakes that stand in for the datapath). Debug records (type 2) write `args` at bytes 16-27.
 */
export function encodeEventRecord(init: EventRecordInit): Buffer {
  const packet = init.packet ?? new Uint8Array(0);
  const out = Buffer.alloc(EVENT_HEADER_LEN + packet.length);
  out.writeUInt8(init.type, 0);
  out.writeUInt8(init.subType ?? 0, 1);
  out.writeUInt16LE(init.source ?? 0, 2);
  out.writeUInt32LE(init.hash ?? 0, 4);
  out.writeUInt32LE(init.origLen ?? packet.length, 8);
  out.writeUInt16LE(init.capLen ?? packet.length, 12);
  out.writeUInt8(init.version ?? 1, 14);
  const f = RecordFlag;
  const flags = (init.isReply ? f.reply : 0) | (init.egress ? f.egress : 0) | (init.ipv6 ? f.ipv6 : 0) | (init.allowed ? f.allowed : 0);
  out.writeUInt8(flags | (init.redirected ? f.redirected : 0), 15);
  if (init.type === EventType.debug) {
    const [a1, a2, a3] = init.args ?? [0, 0, 0];
    out.writeUInt32LE(a1 >>> 0, 16);
    out.writeUInt32LE(a2 >>> 0, 20);
    out.writeUInt32LE(a3 >>> 0, 24);
  } else {
    out.writeUInt32LE(init.srcIdentity ?? 0, 16);
    out.writeUInt32LE(init.dstIdentity ?? 0, 20);
    out.writeUInt16LE(init.dstEndpoint ?? 0, 24);
    out.writeUInt16LE(init.matchedPort ?? 0, 26);
    out.writeUInt8(init.matchedProtocol ?? 0, 28);
    out.writeUInt8(init.matchType ?? 0, 29);
    out.writeUInt16LE(init.verdictDropReason ?? 0, 30);
  }
  out.writeUInt32LE(init.ifindex ?? 0, 32);
  out.writeBigUInt64LE(init.ktimeNs ?? 0n, 40);
  out.set(packet, EVENT_HEADER_LEN);
  return out;
}
