// Decoding of the datapath event record (docs/CONTRACTS.md, bpf/events.h).

/** Event types. */
export const EventType = { drop: 1, debug: 2, trace: 4, policyVerdict: 5 } as const;
/** Trace observation points used by the endpoint programs. */
export const TracePoint = { toEndpoint: 0, toProxy: 1, toOverlay: 4, fromEndpoint: 5, fromOverlay: 9 } as const;
/** Drop reasons the programs emit (Cilium numbering). */
export const DropReason = { policy: 133, invalid: 134, ctInvalidHeader: 135, unknownL3: 139, noConfig: 165, policyDeny: 181 } as const;
const REASON_TEXT: Record<number, string> = {
  0: 'Forwarded', 133: 'Policy denied', 134: 'Invalid packet', 135: 'CT: Truncated or invalid header',
  137: 'CT: Unknown L4 protocol', 139: 'Unsupported L3 protocol',
  // L7 fail-closed (bpf/events.h DROP_NO_CONFIG): an L7 rule covers the traffic and no proxy is ready for it.
  165: 'No configuration available to perform policy decision', 181: 'Policy denied by denylist',
};

/** Text of a metrics reason as the Cilium CLI prints it (0 = forwarded; unknown codes print as the number). */
export function reasonText(reason: number): string {
  return REASON_TEXT[reason] ?? String(reason);
}

/** Policy match types of a policy verdict. */
export const MatchType = { none: 0, l3Only: 1, l3l4: 2, l4Only: 3, all: 4 } as const;
/** Bytes before the packet in a record. */
export const EVENT_HEADER_LEN = 48;

/**
 * A decoded event record header plus the captured packet bytes. Debug records (type 2)
 * carry args (arg1..arg3, bytes 16-27) instead of identities, endpoint and port, which
 * decode as 0; other records have args [0, 0, 0].
 */
export interface EventRecord {
  type: number; subType: number; source: number; hash: number; origLen: number; capLen: number; version: number;
  isReply: boolean; egress: boolean; ipv6: boolean; allowed: boolean;
  /** Policy verdict allowed by a redirect to the L7 proxy (flags bit 4). */
  redirected: boolean;
  /** Policy verdict: the drop reason when denied (bytes 30-31), else 0. */
  verdictDropReason: number;
  srcIdentity: number; dstIdentity: number; dstEndpoint: number; matchedPort: number; matchedProtocol: number;
  matchType: number; ifindex: number; ktimeNs: bigint; packet: Buffer;
  args: [number, number, number];
}

/** Decodes one record; throws RangeError when it is shorter than its header says. */
export function decodeEventRecord(b: Buffer): EventRecord {
  if (b.length < EVENT_HEADER_LEN) throw new RangeError(`event record is ${b.length} bytes, shorter than the ${EVENT_HEADER_LEN}-byte header`);
  const capLen = b.readUInt16LE(12);
  if (b.length < EVENT_HEADER_LEN + capLen) throw new RangeError(`event record is ${b.length} bytes but cap_len says ${EVENT_HEADER_LEN + capLen}`);
  const flags = b[15];
  const common = {
    type: b[0], subType: b[1], source: b.readUInt16LE(2), hash: b.readUInt32LE(4), origLen: b.readUInt32LE(8), capLen,
    version: b[14], isReply: (flags & 1) !== 0, egress: (flags & 2) !== 0, ipv6: (flags & 4) !== 0, allowed: (flags & 8) !== 0,
    redirected: (flags & 16) !== 0, ifindex: b.readUInt32LE(32), ktimeNs: b.readBigUInt64LE(40), packet: b.subarray(EVENT_HEADER_LEN, EVENT_HEADER_LEN + capLen),
  };
  if (b[0] === EventType.debug) {
    return {
      ...common, srcIdentity: 0, dstIdentity: 0, dstEndpoint: 0, matchedPort: 0, matchedProtocol: 0, matchType: 0, verdictDropReason: 0,
      args: [b.readUInt32LE(16), b.readUInt32LE(20), b.readUInt32LE(24)],
    };
  }
  return {
    ...common, srcIdentity: b.readUInt32LE(16), dstIdentity: b.readUInt32LE(20), dstEndpoint: b.readUInt16LE(24),
    matchedPort: b.readUInt16LE(26), matchedProtocol: b[28], matchType: b[29], verdictDropReason: b[0] === EventType.policyVerdict ? b.readUInt16LE(30) : 0,
    args: [0, 0, 0],
  };
}
