// The flow parser: turns the agent's MonitorEvents into HubbleEvents, decoding datapath
// records into L3/L4 flows enriched with endpoint, identity and ipcache metadata, and
// debug records (type 2) into debug events.
import { agent, flow, Timestamp, timestampNow } from '@cilium-ts/api';
import {
  EVENT_HEADER_LEN, EventRecordError, TRACE_SOCK_TYPE, EventType, RecordFlag, recordDstEndpoint, recordDstIdentity, recordFlags, recordIfindex,
  recordPacket, recordSource, recordSrcIdentity, recordType,
} from '@cilium-ts/bpf/events';
import { decodeAgentEvent } from './agent-event.js';
import { decodeDebugRecord, type DebugHubbleEvent } from './debug-event.js';
import { EndpointResolver } from './endpoint-resolver.js';
import type { HubbleEvent } from './events.js';
import { DatapathFlowEvent } from './flow-event.js';
import { nextFlowSeq } from './flow-uuid.js';
import type { EndpointGetter, IdentityGetter, IPCacheGetter, ServiceGetter } from './getters.js';
import { sockTraceFlow } from './trace-sock-flow.js';
import { packetAddresses } from './packet.js';

/** What the parser needs from its surroundings. */
export interface ParserOptions {
  /** node_name for flows whose MonitorEvent does not carry one (`cluster/node` or `node`). */
  nodeName: string;
  /** Cluster of this node: a MonitorEvent's bare node name becomes `cluster/node` unless it is `default` or empty. */
  clusterName?: string;
  endpoints?: EndpointGetter;
  identities?: IdentityGetter;
  ipcache?: IPCacheGetter;
  /** Services by id and frontend, for trace sock flows. */
  services?: ServiceGetter;
  /** Clock for events without a time; defaults to the wall clock. */
  now?: () => Timestamp;
}

/** A flow of a trace sock record (socket load balancing), built at once. */
export type SockFlowEvent = Extract<HubbleEvent, { kind: 'flow' }>;

/** Raised when a MonitorEvent cannot be turned into a HubbleEvent. */
export class ParseError extends Error {
  override readonly name = 'ParseError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Decodes agent MonitorEvents into HubbleEvents. */
export class Parser {
  private readonly resolver: EndpointResolver;

  constructor(private readonly options: ParserOptions) {
    this.resolver = new EndpointResolver(options);
  }

  /** Decodes one MonitorEvent; throws ParseError for an empty payload or a malformed record header. */
  decode(event: agent.MonitorEvent): HubbleEvent {
    const time = event.time ?? (this.options.now ?? timestampNow)();
    const nodeName = this.nodeNameOf(event.nodeName);
    if (event.datapath !== undefined) return this.decodeRecord(event.datapath, time, nodeName);
    if (event.agent !== undefined) {
      return { kind: 'agent', time, nodeName, agent: decodeAgentEvent(event.agent.type, event.agent.json) };
    }
    if (event.lost !== undefined) {
      const lost = flow.LostEvent.fromPartial({ source: flow.LostEventSource.PERF_EVENT_RING_BUFFER, numEventsLost: event.lost });
      return { kind: 'lost', time, nodeName, lost };
    }
    throw new ParseError('parse monitor event: it carries no datapath record, agent event or lost count; the agent sent an empty payload');
  }

  /** node_name of events whose MonitorEvent carries `fromEvent` ('' = this node). */
  nodeNameOf(fromEvent: string): string {
    if (fromEvent === '') return this.options.nodeName;
    const cluster = this.options.clusterName ?? '';
    return cluster === '' || cluster === 'default' || fromEvent.includes('/') ? fromEvent : `${cluster}/${fromEvent}`;
  }

  /** Decodes one raw datapath record into a Flow; throws ParseError for a debug record (it is no flow). */
  decodeDatapath(bytes: Uint8Array, time: Timestamp, nodeName: string): flow.Flow {
    const e = this.decodeRecord(bytes, time, nodeName);
    if (e.kind !== 'flow') throw new ParseError(`parse monitor event: the record is a debug message (type ${EventType.debug}), not a flow; use decodeRecord`);
    return e.flow;
  }

  /**
   * Decodes one raw datapath record into the compact flow event the ring keeps (the hot path:
   * no flow.Flow is built), or a debug record into a debug event; throws ParseError when the
   * 48-byte header is incomplete.
   */
  decodeRecord(bytes: Uint8Array, time: Timestamp, nodeName: string): DatapathFlowEvent | DebugHubbleEvent | SockFlowEvent {
    return this.decodeRecordAt(bytes, Number(time.seconds), time.nanos, nodeName);
  }

  /** decodeRecord with the stamp as whole seconds since the epoch (a safe integer) and nanoseconds. */
  decodeRecordAt(bytes: Uint8Array, seconds: number, nanos: number, nodeName: string): DatapathFlowEvent | DebugHubbleEvent | SockFlowEvent {
    if (bytes.length < EVENT_HEADER_LEN) {
      const cause = new EventRecordError(bytes.length);
      throw new ParseError(`parse monitor event: ${cause.message}`, { cause });
    }
    if (recordType(bytes) === EventType.debug) {
      const time = Timestamp.create({ seconds: BigInt(seconds), nanos });
      return { kind: 'debug', time, nodeName, debug: decodeDebugRecord(bytes, this.options.endpoints) };
    }
    if (recordType(bytes) === TRACE_SOCK_TYPE) {
      try {
        const f = sockTraceFlow(bytes, seconds, nanos, nodeName, nextFlowSeq(), { resolver: this.resolver, endpoints: this.options.endpoints, services: this.options.services });
        return { kind: 'flow', time: f.time!, nodeName, flow: f };
      } catch (err) {
        throw new ParseError(`parse monitor event: ${(err as Error).message}`, { cause: err });
      }
    }
    const ip = packetAddresses(recordPacket(bytes));
    // from-container (egress) programs run for packets the local endpoint sent, so it is
    // the packet's source; to-container programs deliver to it, so it is the destination.
    // Replies keep the packet's own direction: no swapping.
    const localId = recordSource(bytes);
    const egress = (recordFlags(bytes) & RecordFlag.egress) !== 0;
    const source = this.resolver.resolve(ip?.source, recordSrcIdentity(bytes), egress ? localId : 0, 0);
    const destination = this.resolver.resolve(ip?.destination, recordDstIdentity(bytes), egress ? 0 : localId, recordDstEndpoint(bytes));
    const local = localId !== 0 ? this.options.endpoints?.getEndpointByID(localId) : undefined;
    const ifname = local !== undefined && local.hostIfindex === recordIfindex(bytes) ? (local.hostIfname ?? '') : '';
    return new DatapathFlowEvent(seconds, nanos, nodeName, bytes, source, destination, ifname, nextFlowSeq());
  }
}
