// Decoding of the datapath event record written by the BPF programs into the `events`
// ring buffer (layout in docs/CONTRACTS.md, "Datapath event record").

/** Size of the fixed record header that precedes the packet bytes. */
export const DATAPATH_RECORD_HEADER_LEN = 48;

/** Datapath record types (the monitor message type). */
export const enum DatapathEventType {
  Drop = 1,
  Debug = 2,
  Trace = 4,
  PolicyVerdict = 5,
}

/** One decoded datapath event record. */
export interface DatapathRecord {
  /** 1 drop, 4 trace, 5 policy verdict. */
  type: number;
  /** Drop reason (drops), trace observation point (traces), 0 (policy verdicts). */
  subType: number;
  /** Id of the endpoint whose program emitted the event. */
  source: number;
  hash: number;
  origLen: number;
  capLen: number;
  version: number;
  isReply: boolean;
  /** True for the from-container program (egress of the pod), false for to-container. */
  egress: boolean;
  ipv6: boolean;
  /** Policy verdicts: the packet was allowed. */
  allowed: boolean;
  /** Policy verdicts: allowed by a redirect to the L7 proxy (flags bit 4). */
  redirected: boolean;
  /** Policy verdicts: the drop reason when denied (bytes 30-31; 0 = none given, read as 133). */
  verdictDropReason: number;
  srcIdentity: number;
  dstIdentity: number;
  dstEndpoint: number;
  matchedPort: number;
  matchedProto: number;
  policyMatchType: number;
  ifindex: number;
  ktimeNs: bigint;
  /** The captured packet bytes, from the Ethernet header (at most cap_len bytes, fewer if the record was cut). */
  packet: Buffer;
}

/** Raised when a datapath record is too short to hold its header. */
export class DatapathRecordError extends Error {
  override readonly name = 'DatapathRecordError';
  constructor(
    readonly length: number,
    message: string,
  ) {
    super(message);
  }
}

/** Decodes one record; throws DatapathRecordError only when the 48-byte header is incomplete. */
export function decodeDatapathRecord(record: Buffer): DatapathRecord {
  if (record.length < DATAPATH_RECORD_HEADER_LEN) {
    throw new DatapathRecordError(
      record.length,
      `decode datapath record: got ${record.length} bytes, need at least ${DATAPATH_RECORD_HEADER_LEN} for the header ` +
        '(is the agent forwarding records unchanged, as docs/CONTRACTS.md requires?)',
    );
  }
  const flags = record.readUInt8(15);
  const capLen = record.readUInt16LE(12);
  const end = Math.min(record.length, DATAPATH_RECORD_HEADER_LEN + capLen);
  return {
    type: record.readUInt8(0),
    subType: record.readUInt8(1),
    source: record.readUInt16LE(2),
    hash: record.readUInt32LE(4),
    origLen: record.readUInt32LE(8),
    capLen,
    version: record.readUInt8(14),
    isReply: (flags & 0x01) !== 0,
    egress: (flags & 0x02) !== 0,
    ipv6: (flags & 0x04) !== 0,
    allowed: (flags & 0x08) !== 0,
    redirected: (flags & 0x10) !== 0,
    verdictDropReason: record.readUInt8(0) === DatapathEventType.PolicyVerdict ? record.readUInt16LE(30) : 0,
    srcIdentity: record.readUInt32LE(16),
    dstIdentity: record.readUInt32LE(20),
    dstEndpoint: record.readUInt16LE(24),
    matchedPort: record.readUInt16LE(26),
    matchedProto: record.readUInt8(28),
    policyMatchType: record.readUInt8(29),
    ifindex: record.readUInt32LE(32),
    ktimeNs: record.readBigUInt64LE(40),
    packet: record.subarray(DATAPATH_RECORD_HEADER_LEN, end),
  };
}

/** Fields for encodeDatapathRecord; omitted numbers are 0, omitted flags false. */
export type DatapathRecordInit = Partial<Omit<DatapathRecord, 'packet' | 'capLen'>> & { type: number; packet?: Uint8Array; capLen?: number };

/** Writes a record in the CONTRACTS.md layout (the inverse of decodeDatapathRecord; used by tests and fakes). */
export function encodeDatapathRecord(init: DatapathRecordInit): Buffer {
  const packet = init.packet ?? new Uint8Array(0);
  const out = Buffer.alloc(DATAPATH_RECORD_HEADER_LEN + packet.length);
  out.writeUInt8(init.type, 0);
  out.writeUInt8(init.subType ?? 0, 1);
  out.writeUInt16LE(init.source ?? 0, 2);
  out.writeUInt32LE(init.hash ?? 0, 4);
  out.writeUInt32LE(init.origLen ?? packet.length, 8);
  out.writeUInt16LE(init.capLen ?? packet.length, 12);
  out.writeUInt8(init.version ?? 1, 14);
  const flags = (init.isReply ? 1 : 0) | (init.egress ? 2 : 0) | (init.ipv6 ? 4 : 0) | (init.allowed ? 8 : 0) | (init.redirected ? 16 : 0);
  out.writeUInt8(flags, 15);
  out.writeUInt32LE(init.srcIdentity ?? 0, 16);
  out.writeUInt32LE(init.dstIdentity ?? 0, 20);
  out.writeUInt16LE(init.dstEndpoint ?? 0, 24);
  out.writeUInt16LE(init.matchedPort ?? 0, 26);
  out.writeUInt8(init.matchedProto ?? 0, 28);
  out.writeUInt8(init.policyMatchType ?? 0, 29);
  out.writeUInt16LE(init.verdictDropReason ?? 0, 30);
  out.writeUInt32LE(init.ifindex ?? 0, 32);
  out.writeBigUInt64LE(init.ktimeNs ?? 0n, 40);
  out.set(packet, DATAPATH_RECORD_HEADER_LEN);
  return out;
}
