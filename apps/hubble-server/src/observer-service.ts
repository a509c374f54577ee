// observer.Observer for one node: GetFlows, GetAgentEvents and ServerStatus over the flow
// ring buffer, GetDebugEvents over the debug ring (HUBBLE-API.md §5), GetNamespaces from the
// flows held (flow-namespaces.ts); GetNodes is UNIMPLEMENTED as on upstream per-node servers.
import type { ServerUnaryCall, ServerWritableStream, sendUnaryData } from '@grpc/grpc-js';
import { observer, type Timestamp } from '@cilium-ts/api';
import { compileFlowFilters, DatapathFlowEvent, encodeFlowEventResponse, FilterError, ReadRequestError, RingReader, validateReadRequest, type HubbleEvent, type RingBuffer } from '@cilium-ts/flow';
import { InvalidArgumentError, UnimplementedError } from '@cilium-ts/grpc';
import { namespacesOfRing } from './flow-namespaces.js';
import { callSignal, callSink, encodedSink, pump, type MessageSink } from './stream-pump.js';

/**
 * observer.Observer with GetFlows responses written as bytes already encoded
 * (encodeFlowEventResponse, written in batches by libs/grpc's FramedWriter); every other method as generated. Register this definition with
 * ObserverService.handlers().
 */
export const OBSERVER_WIRE_SERVICE = {
  ...observer.ObserverService,
  getFlows: {
    ...observer.ObserverService.getFlows,
    responseSerialize: (value: observer.GetFlowsResponse | Uint8Array): Buffer =>
      value instanceof Uint8Array ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : observer.GetFlowsResponse.encode(value).finish() as Buffer,
  },
} as const;

/** What the observer reads from. */
export interface ObserverState {
  ring: RingBuffer<HubbleEvent>;
  /**
   * Datapath debug events, kept apart so that they never evict flows nor count in
   * ServerStatus; GetDebugEvents reads it (unset: the flow ring, where there are none).
   */
  debugRing?: RingBuffer<HubbleEvent>;
  nodeName: string;
  /** The node's cluster (GetNamespaces' `cluster`, as upstream's nodeTypes.GetClusterName()). */
  clusterName: string;
  version: string;
  /** Flows observed since start. */
  seenFlows(): bigint;
  /** Nanoseconds since start. */
  uptimeNs(): bigint;
  /** Aborted at server shutdown: follow streams end. */
  shutdownSignal?: AbortSignal;
  now?: () => Timestamp;
  /** Told about every ring reader while its stream runs (the ingest gate). */
  readers?: { add(reader: RingReader): void; delete(reader: RingReader): void; progress?(): void };
}

/** The Observer service state and handlers; register `handlers()` with createServer. */
export class ObserverService {
  private open = 0;
  private waits = 0;

  constructor(private readonly state: ObserverState) {}

  /** Number of GetFlows/GetAgentEvents/GetDebugEvents streams in progress. */
  get activeStreams(): number {
    return this.open;
  }

  /** How many times a stream paused because the client read slower than the server wrote. */
  get backpressureWaits(): number {
    return this.waits;
  }

  /** The grpc-js handlers (async streaming handlers return their promise to libs/grpc's wrapper). */
  handlers(): observer.ObserverServer {
    return {
      getFlows: this.getFlows,
      getAgentEvents: this.getAgentEvents,
      getDebugEvents: this.getDebugEvents,
      getNodes: this.getNodes,
      getNamespaces: this.getNamespaces,
      serverStatus: this.serverStatus,
    };
  }

  getFlows = (call: ServerWritableStream<observer.GetFlowsRequest, observer.GetFlowsResponse>): Promise<void> => {
    const req = call.request;
    let matches: ((f: HubbleEvent) => boolean) | undefined;
    try {
      const pred = compileFlowFilters(req.whitelist, req.blacklist);
      // Without filters no flow.Flow object is needed: flows go out encoded from their compact
      // form. With filters each stream builds the Flow it tests and lets it go (keeping it on the
      // ring entry cost more in garbage collection than rebuilding: libs/flow's bench).
      const unfiltered = req.whitelist.length === 0 && req.blacklist.length === 0;
      matches = unfiltered ? undefined : (e) => e.kind === 'flow' && pred(e instanceof DatapathFlowEvent ? e.toFlow() : e.flow);
    } catch (err) {
      if (err instanceof FilterError) return Promise.reject(new InvalidArgumentError(err.message, { field: err.field, cause: err }));
      return Promise.reject(err);
    }
    // Responses go out pre-encoded (see OBSERVER_WIRE_SERVICE): a flow is encoded once, by
    // the first stream that sends it, and the bytes are kept on the ring entry for the others.
    const wire = call as unknown as ServerWritableStream<observer.GetFlowsRequest, Uint8Array>;
    return this.stream(wire, encodedSink(wire), req, this.state.ring, 'flow', matches, (e) => {
      if (e.kind === 'flow') return (e.wire ??= encodeFlowEventResponse(e));
      if (e.kind === 'lost') return observer.GetFlowsResponse.encode({ lostEvents: e.lost, nodeName: e.nodeName, time: e.time }).finish();
      return undefined;
    });
  };

  getAgentEvents = (call: ServerWritableStream<observer.GetAgentEventsRequest, observer.GetAgentEventsResponse>): Promise<void> =>
    this.stream(call, callSink(call), call.request, this.state.ring, 'agent', undefined, (e) =>
      e.kind === 'agent' ? observer.GetAgentEventsResponse.fromPartial({ agentEvent: e.agent, nodeName: e.nodeName, time: e.time }) : undefined,
    );

  getDebugEvents = (call: ServerWritableStream<observer.GetDebugEventsRequest, observer.GetDebugEventsResponse>): Promise<void> =>
    this.stream(call, callSink(call), call.request, this.state.debugRing ?? this.state.ring, 'debug', undefined, (e) =>
      e.kind === 'debug' ? observer.GetDebugEventsResponse.fromPartial({ debugEvent: e.debug, nodeName: e.nodeName, time: e.time }) : undefined,
    );

  getNodes = (_call: ServerUnaryCall<observer.GetNodesRequest, observer.GetNodesResponse>, cb: sendUnaryData<observer.GetNodesResponse>): void => {
    cb(new UnimplementedError('GetNodes is served by hubble-relay, not by a per-node hubble-server; point the client at the relay'));
  };

  getNamespaces = (
    _call: ServerUnaryCall<observer.GetNamespacesRequest, observer.GetNamespacesResponse>,
    cb: sendUnaryData<observer.GetNamespacesResponse>,
  ): void => {
    const nowS = this.state.now ? Number(this.state.now().seconds) : Math.floor(Date.now() / 1000);
    cb(null, observer.GetNamespacesResponse.fromPartial({ namespaces: namespacesOfRing(this.state.ring, nowS, this.state.clusterName) }));
  };

  serverStatus = (
    _call: ServerUnaryCall<observer.ServerStatusRequest, observer.ServerStatusResponse>,
    cb: sendUnaryData<observer.ServerStatusResponse>,
  ): void => {
    const s = this.state;
    cb(
      null,
      observer.ServerStatusResponse.fromPartial({
        numFlows: BigInt(s.ring.length),
        maxFlows: BigInt(s.ring.capacity),
        seenFlows: s.seenFlows(),
        uptimeNs: s.uptimeNs(),
        version: s.version,
      }),
    );
  };

  private async stream<M>(
    call: ServerWritableStream<unknown, M>,
    sink: MessageSink<M>,
    req: { number: bigint; follow: boolean; first: boolean; since?: Timestamp; until?: Timestamp },
    ring: RingBuffer<HubbleEvent>,
    kind: 'flow' | 'agent' | 'debug',
    matches: ((e: HubbleEvent) => boolean) | undefined,
    toMessage: (e: HubbleEvent) => M | undefined,
  ): Promise<void> {
    try {
      validateReadRequest(req);
    } catch (err) {
      if (err instanceof ReadRequestError) throw new InvalidArgumentError(err.message, { field: err.field, cause: err });
      throw err;
    }
    const ac = callSignal(call as ServerWritableStream<unknown, unknown>, this.state.shutdownSignal);
    this.open++;
    try {
      const reader = new RingReader(ring, req, {
        kind,
        matches,
        includeLost: kind === 'flow',
        signal: ac.signal,
        nodeName: this.state.nodeName,
        now: this.state.now,
      });
      // The ingest gate measures lag on the flow ring: readers of another ring (debug) are
      // not counted; they lose entries when they fall behind a full ring, never slow ingest.
      const readers = ring === this.state.ring ? this.state.readers : undefined;
      readers?.add(reader);
      try {
        await pump(call, sink, reader, toMessage, ac.signal, { backpressure: () => this.waits++, progress: readers?.progress ? () => readers.progress!() : undefined });
      } finally {
        readers?.delete(reader);
      }
    } finally {
      this.open--;
      ac.abort();
    }
  }
}
