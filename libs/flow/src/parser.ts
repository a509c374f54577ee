// The flow parser: turns the agent's MonitorEvents into HubbleEvents, decoding datapath
// records into L3/L4 flows enriched with endpoint, identity and ipcache metadata.
import { agent, flow, timestampNow, type Timestamp } from '@cilium-ts/api';
import { decodeAgentEvent } from './agent-event.js';
import { DatapathEventType, decodeDatapathRecord, type DatapathRecord } from './datapath-record.js';
import type { HubbleEvent } from './events.js';
import type { EndpointGetter, EndpointInfo, IdentityGetter, IPCacheGetter } from './getters.js';
import { decodePacket, type DecodedPacket } from './packet.js';
import { reservedIdentityLabels } from './reserved-identities.js';
import { summarize } from './summary.js';

/** Drop reason code of a policy denial. */
export const DROP_REASON_POLICY_DENIED = 133;

/** What the parser needs from its surroundings. */
export interface ParserOptions {
  /** node_name for flows whose MonitorEvent does not carry one (`cluster/node` or `node`). */
  nodeName: string;
  /** Cluster of this node: a MonitorEvent's bare node name becomes `cluster/node` unless it is `default` or empty. */
  clusterName?: string;
  endpoints?: EndpointGetter;
  identities?: IdentityGetter;
  ipcache?: IPCacheGetter;
  /** Clock for events without a time; defaults to the wall clock. */
  now?: () => Timestamp;
}

/** Raised when a MonitorEvent cannot be turned into a HubbleEvent. */
export class ParseError extends Error {
  override readonly name = 'ParseError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

function traceObservationPoint(subType: number): flow.TraceObservationPoint {
  if (subType === 0) return flow.TraceObservationPoint.TO_ENDPOINT;
  if (subType >= 1 && subType <= 11) return subType as flow.TraceObservationPoint;
  return flow.TraceObservationPoint.UNKNOWN_POINT;
}

function dropReasonDesc(code: number): flow.DropReason {
  return code > 0 && flow.DropReason[code] !== undefined ? (code as flow.DropReason) : flow.DropReason.DROP_REASON_UNKNOWN;
}

const NO_NAMES = Object.freeze([]) as unknown as string[];
const NO_WORKLOADS = Object.freeze([]) as unknown as flow.Workload[];

/** Decodes agent MonitorEvents into HubbleEvents. */
export class Parser {
  constructor(private readonly options: ParserOptions) {}

  /** Decodes one MonitorEvent; throws ParseError for an empty payload or a malformed record header. */
  decode(event: agent.MonitorEvent): HubbleEvent {
    const time = event.time ?? (this.options.now ?? timestampNow)();
    const nodeName = this.nodeNameOf(event.nodeName);
    if (event.datapath !== undefined) {
      return { kind: 'flow', time, nodeName, flow: this.decodeDatapath(event.datapath, time, nodeName) };
    }
    if (event.agent !== undefined) {
      return { kind: 'agent', time, nodeName, agent: decodeAgentEvent(event.agent.type, event.agent.json) };
    }
    if (event.lost !== undefined) {
      const lost = flow.LostEvent.fromPartial({ source: flow.LostEventSource.PERF_EVENT_RING_BUFFER, numEventsLost: event.lost });
      return { kind: 'lost', time, nodeName, lost };
    }
    throw new ParseError('parse monitor event: it carries no datapath record, agent event or lost count; the agent sent an empty payload');
  }

  private nodeNameOf(fromEvent: string): string {
    if (fromEvent === '') return this.options.nodeName;
    const cluster = this.options.clusterName ?? '';
    return cluster === '' || cluster === 'default' || fromEvent.includes('/') ? fromEvent : `${cluster}/${fromEvent}`;
  }

  /** Decodes one raw datapath record into a Flow. */
  decodeDatapath(bytes: Buffer, time: Timestamp, nodeName: string): flow.Flow {
    let record: DatapathRecord;
    try {
      record = decodeDatapathRecord(bytes);
    } catch (err) {
      throw new ParseError(`parse monitor event: ${(err as Error).message}`, { cause: err });
    }
    const packet = decodePacket(record.packet);
    // Hot path: plain object literals with every field (what fromPartial would make, without
    // its deep copies). Empty repeated fields share one frozen array: flows are never mutated
    // once decoded.
    const f: flow.Flow = {
      time,
      verdict: flow.Verdict.VERDICT_UNKNOWN,
      dropReason: 0,
      ethernet: undefined,
      IP: undefined,
      l4: undefined,
      source: undefined,
      destination: undefined,
      Type: flow.FlowType.L3_L4,
      nodeName,
      sourceNames: NO_NAMES,
      destinationNames: NO_NAMES,
      l7: undefined,
      reply: record.isReply,
      eventType: { type: record.type, subType: record.subType },
      sourceService: undefined,
      destinationService: undefined,
      trafficDirection: flow.TrafficDirection.TRAFFIC_DIRECTION_UNKNOWN,
      policyMatchType: 0,
      traceObservationPoint: flow.TraceObservationPoint.UNKNOWN_POINT,
      dropReasonDesc: flow.DropReason.DROP_REASON_UNKNOWN,
      isReply: record.isReply,
      debugCapturePoint: flow.DebugCapturePoint.DBG_CAPTURE_POINT_UNKNOWN,
      interface: undefined,
      proxyPort: 0,
      Summary: summarize(packet),
    };
    this.setVerdict(f, record);
    f.trafficDirection = record.egress !== record.isReply ? flow.TrafficDirection.EGRESS : flow.TrafficDirection.INGRESS;
    if (packet.ethernet) f.ethernet = { source: packet.ethernet.source, destination: packet.ethernet.destination };
    if (packet.ip) {
      f.IP = {
        source: packet.ip.source,
        destination: packet.ip.destination,
        ipVersion: packet.ip.version === 4 ? flow.IPVersion.IPv4 : flow.IPVersion.IPv6,
        encrypted: false,
      };
    }
    f.l4 = layer4(packet);
    this.setEndpoints(f, record, packet);
    const local = record.source !== 0 ? this.options.endpoints?.getEndpointByID(record.source) : undefined;
    f.interface = { index: record.ifindex, name: local?.hostIfindex === record.ifindex ? (local.hostIfname ?? '') : '' };
    return f;
  }

  private setVerdict(f: flow.Flow, record: DatapathRecord): void {
    switch (record.type) {
      case DatapathEventType.Drop:
        f.verdict = flow.Verdict.DROPPED;
        f.dropReason = record.subType;
        f.dropReasonDesc = dropReasonDesc(record.subType);
        break;
      case DatapathEventType.Trace:
        f.verdict = flow.Verdict.FORWARDED;
        f.traceObservationPoint = traceObservationPoint(record.subType);
        break;
      case DatapathEventType.PolicyVerdict:
        f.policyMatchType = record.policyMatchType;
        if (record.allowed) {
          f.verdict = flow.Verdict.FORWARDED;
        } else {
          f.verdict = flow.Verdict.DROPPED;
          f.dropReason = DROP_REASON_POLICY_DENIED;
          f.dropReasonDesc = flow.DropReason.POLICY_DENIED;
        }
        break;
      default:
        f.verdict = flow.Verdict.VERDICT_UNKNOWN;
    }
  }

  private setEndpoints(f: flow.Flow, record: DatapathRecord, packet: DecodedPacket): void {
    // from-container (egress) programs run for packets the local endpoint sent, so it is
    // the packet's source; to-container programs deliver to it, so it is the destination.
    // Replies keep the packet's own direction: no swapping.
    const localId = record.source;
    f.source = this.endpoint(packet.ip?.source, record.srcIdentity, record.egress ? localId : 0, 0);
    f.destination = this.endpoint(packet.ip?.destination, record.dstIdentity, record.egress ? 0 : localId, record.dstEndpoint);
  }

  private endpoint(ip: string | undefined, datapathIdentity: number, localId: number, hintId: number): flow.Endpoint {
    const getters = this.options;
    let ep: EndpointInfo | undefined = localId !== 0 ? getters.endpoints?.getEndpointByID(localId) : undefined;
    if (!ep && ip !== undefined) ep = getters.endpoints?.getEndpointByIP(ip);
    if (!ep && hintId !== 0) ep = getters.endpoints?.getEndpointByID(hintId);
    const cached = ip !== undefined ? getters.ipcache?.getIPIdentity(ip) : undefined;
    const identity = (ep?.identity || cached?.identity || datapathIdentity) >>> 0;
    const labels = ep?.labels.length
      ? [...ep.labels]
      : (getters.identities?.getIdentity(identity)?.labels.slice() ?? reservedIdentityLabels(identity) ?? []);
    return {
      ID: ep?.id ?? (localId || hintId),
      identity,
      namespace: ep?.namespace || cached?.namespace || '',
      podName: ep?.podName || cached?.podName || '',
      labels: labels.sort(),
      workloads: NO_WORKLOADS,
    };
  }
}

function layer4(packet: DecodedPacket): flow.Layer4 | undefined {
  const l4 = packet.l4;
  switch (l4?.kind) {
    case 'tcp':
      return { TCP: { sourcePort: l4.sourcePort, destinationPort: l4.destinationPort, flags: { ...l4.flags } } };
    case 'udp':
      return { UDP: { sourcePort: l4.sourcePort, destinationPort: l4.destinationPort } };
    case 'icmpv4':
      return { ICMPv4: { type: l4.type, code: l4.code } };
    case 'icmpv6':
      return { ICMPv6: { type: l4.type, code: l4.code } };
    default:
      return undefined;
  }
}
