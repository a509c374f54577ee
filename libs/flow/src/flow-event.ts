// A flow as hubble-server keeps it in its ring buffer: the raw datapath record, its stamp as
// two numbers and the resolved (shared) endpoints, a handful of objects instead of a full
// flow.Flow object graph per event (a ring of 65535 entries that each survive into the old
// generation makes every retained object count for the garbage collector). Packet layers are
// decoded again when needed (once, to encode), as short-lived garbage. The encoder writes GetFlowsResponse bytes straight from it
// (encodeFlowEventResponse); the flow.Flow object is built only when something asks for
// `flow` (filters, metrics, tests), once, and is the same Flow the encoder's bytes decode to.
import { flow, Timestamp } from '@cilium-ts/api';
import {
  DropReason, EventType, RecordFlag, recordFlags, recordIfindex, recordMatchType, recordPacket, recordSubType, recordType, recordVerdictDropReason,
} from '@cilium-ts/bpf/events';
import { copyEndpoint } from './endpoint-resolver.js';
import { decodePacket, type DecodedPacket } from './packet.js';
import { summarize } from './summary.js';
import { flowUuid } from './flow-uuid.js';

/** Flow verdict of a record (type, allowed and redirected flags): a policy verdict allowed by a redirect to the L7 proxy is REDIRECTED, as upstream. */
export function recordVerdict(type: number, flags: number): flow.Verdict {
  switch (type) {
    case EventType.drop:
      return flow.Verdict.DROPPED;
    case EventType.trace:
      return flow.Verdict.FORWARDED;
    case EventType.policyVerdict:
      if (!(flags & RecordFlag.allowed)) return flow.Verdict.DROPPED;
      return flags & RecordFlag.redirected ? flow.Verdict.REDIRECTED : flow.Verdict.FORWARDED;
    default:
      return flow.Verdict.VERDICT_UNKNOWN;
  }
}

/**
 * drop_reason of a record: the sub_type of drops; for denied policy verdicts the reason the
 * record carries at bytes 30-31 (e.g. 181 for a deny rule, 165 for L7 fail-closed), 133
 * when it carries none; else 0.
 */
export function recordDropReason(record: Uint8Array): number {
  const type = recordType(record);
  if (type === EventType.drop) return recordSubType(record);
  if (type === EventType.policyVerdict && !(recordFlags(record) & RecordFlag.allowed)) return recordVerdictDropReason(record) || DropReason.policy;
  return 0;
}

/** drop_reason_desc: the DropReason enum value of drop_reason, DROP_REASON_UNKNOWN when it has none. */
export function dropReasonDesc(code: number): flow.DropReason {
  return code > 0 && flow.DropReason[code] !== undefined ? (code as flow.DropReason) : flow.DropReason.DROP_REASON_UNKNOWN;
}

/** trace_observation_point of a trace record (sub_type 0 = TO_ENDPOINT, 1..11 as is); others UNKNOWN_POINT. */
export function recordTracePoint(type: number, subType: number): flow.TraceObservationPoint {
  if (type !== EventType.trace) return flow.TraceObservationPoint.UNKNOWN_POINT;
  if (subType === 0) return flow.TraceObservationPoint.TO_ENDPOINT;
  if (subType >= 1 && subType <= 11) return subType as flow.TraceObservationPoint;
  return flow.TraceObservationPoint.UNKNOWN_POINT;
}

/** traffic_direction: EGRESS when the egress flag differs from is_reply, else INGRESS. */
export function recordDirection(flags: number): flow.TrafficDirection {
  return ((flags & RecordFlag.egress) !== 0) !== ((flags & RecordFlag.reply) !== 0) ? flow.TrafficDirection.EGRESS : flow.TrafficDirection.INGRESS;
}

const NO_NAMES = Object.freeze([]) as unknown as string[];

/** flow.Layer4 of a decoded packet. */
export function layer4Of(packet: DecodedPacket): flow.Layer4 | undefined {
  const l4 = packet.l4;
  switch (l4?.kind) {
    case 'tcp':
      return { TCP: { sourcePort: l4.sourcePort, destinationPort: l4.destinationPort, flags: { ...l4.flags } } };
    case 'udp':
      return { UDP: { sourcePort: l4.sourcePort, destinationPort: l4.destinationPort } };
    case 'sctp':
      return { SCTP: { sourcePort: l4.sourcePort, destinationPort: l4.destinationPort } };
    case 'icmpv4':
      return { ICMPv4: { type: l4.type, code: l4.code } };
    case 'icmpv6':
      return { ICMPv6: { type: l4.type, code: l4.code } };
    default:
      return undefined;
  }
}

/**
 * One datapath flow in compact form; satisfies the `flow` variant of HubbleEvent (its `flow`
 * is built on first access and cached). Immutable once made.
 */
export class DatapathFlowEvent {
  readonly kind = 'flow' as const;
  /** GetFlowsResponse bytes, kept by the first stream that encodes them for every other one. */
  wire?: Uint8Array = undefined;
  private built: flow.Flow | undefined = undefined;

  constructor(
    /** Stamp: seconds since the epoch (a safe integer) and nanoseconds (0..999999999). */
    readonly seconds: number,
    readonly nanos: number,
    readonly nodeName: string,
    /** The whole record (48-byte header + packet), as the agent forwarded it. */
    readonly record: Uint8Array,
    /** Shared, never mutated (see EndpointResolver). */
    readonly source: flow.Endpoint,
    readonly destination: flow.Endpoint,
    /** Host-side interface name of the local endpoint when the record's ifindex is it, else ''. */
    readonly interfaceName: string,
    /** Sequence number behind the flow's UUID (flow-uuid.ts), assigned when the record is decoded; 0 = no UUID. */
    readonly uuidSeq: number = 0,
  ) {}

  /** The flow's UUID (Flow.uuid; '' when uuidSeq is 0), as upstream Hubble gives every flow one. */
  get uuid(): string {
    return this.uuidSeq === 0 ? '' : flowUuid(this.uuidSeq);
  }

  /** The event's stamp (a new Timestamp on every access). */
  get time(): Timestamp {
    return Timestamp.create({ seconds: BigInt(this.seconds), nanos: this.nanos });
  }

  /** The captured packet bytes (at most cap_len, fewer when the record was cut). */
  get packetBytes(): Uint8Array {
    return recordPacket(this.record);
  }

  /** The packet's layers (decoded on every access). */
  get packet(): DecodedPacket {
    return decodePacket(this.packetBytes);
  }

  /** Record type: 1 drop, 4 trace, 5 policy verdict. */
  get type(): number {
    return recordType(this.record);
  }

  /** Record sub_type (drop reason / trace point). */
  get subType(): number {
    return recordSubType(this.record);
  }

  /** Record flags byte (bit0 reply, bit1 egress, bit2 IPv6, bit3 allowed). */
  get flags(): number {
    return recordFlags(this.record);
  }

  /** policy_match_type of policy verdicts, 0 for other records. */
  get policyMatchType(): number {
    return recordType(this.record) === EventType.policyVerdict ? recordMatchType(this.record) : 0;
  }

  /** ifindex of the interface the program ran on. */
  get ifindex(): number {
    return recordIfindex(this.record);
  }

  /** The flow.Flow (built once, on first access, and kept). */
  get flow(): flow.Flow {
    return (this.built ??= this.toFlow());
  }

  /** A new flow.Flow of this event, not kept (for one-off readers such as metrics: no garbage retained in the ring). */
  toFlow(): flow.Flow {
    if (this.built !== undefined) return this.built;
    const { type, subType, flags, packet } = this;
    const time = this.time;
    const isReply = (flags & RecordFlag.reply) !== 0;
    const dropReason = recordDropReason(this.record);
    return {
      time,
      verdict: recordVerdict(type, flags),
      dropReason,
      ethernet: packet.ethernet ? { source: packet.ethernet.source, destination: packet.ethernet.destination } : undefined,
      IP: packet.ip
        ? { source: packet.ip.source, destination: packet.ip.destination, ipVersion: packet.ip.version === 4 ? flow.IPVersion.IPv4 : flow.IPVersion.IPv6, encrypted: false }
        : undefined,
      l4: layer4Of(packet),
      source: copyEndpoint(this.source),
      destination: copyEndpoint(this.destination),
      Type: flow.FlowType.L3_L4,
      nodeName: this.nodeName,
      sourceNames: NO_NAMES,
      destinationNames: NO_NAMES,
      l7: undefined,
      reply: isReply,
      eventType: { type, subType },
      sourceService: undefined,
      destinationService: undefined,
      trafficDirection: recordDirection(flags),
      policyMatchType: this.policyMatchType,
      traceObservationPoint: recordTracePoint(type, subType),
      dropReasonDesc: dropReason === 0 ? flow.DropReason.DROP_REASON_UNKNOWN : dropReasonDesc(dropReason),
      isReply,
      debugCapturePoint: flow.DebugCapturePoint.DBG_CAPTURE_POINT_UNKNOWN,
      interface: { index: this.ifindex, name: this.interfaceName },
      proxyPort: 0,
      traceContext: undefined,
      sockXlatePoint: flow.SocketTranslationPoint.SOCK_XLATE_POINT_UNKNOWN,
      socketCookie: 0n,
      cgroupId: 0n,
      uuid: this.uuid,
      authType: flow.AuthType.DISABLED,
      Summary: summarize(packet),
    };
  }
}
