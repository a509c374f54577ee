// The hubble-server of one node: agent subscription -> parser -> ring buffers (flows,
// agent and lost events on one; datapath debug events on their own), served
// through observer.Observer and peer.Peer (with health and reflection) by libs/grpc.
import { metrics as otelMetrics, type ObservableCallback } from '@opentelemetry/api';
import { peer, Timestamp, timestampNow, type agent } from '@cilium-ts/api';
import { accessLogFlow, DatapathFlowEvent, DEFAULT_RING_CAPACITY, EndpointResolver, ParseError, Parser, RingBuffer, type HubbleEvent } from '@cilium-ts/flow';
import { createServer, type GrpcServer, type ServerTlsOptions } from '@cilium-ts/grpc';
import { type Logger } from '@cilium-ts/process';
import { AgentSubscriber } from './agent-subscriber.js';
import { IngestGate } from './ingest-gate.js';
import { FlowMetrics } from './metrics/registry.js';
import { MetadataCache } from './metadata-cache.js';
import type { MonitorBatch } from './monitor-batch-decoder.js';
import { OBSERVER_WIRE_SERVICE, ObserverService } from './observer-service.js';
import { peerHandlers, PeerList, peerName } from './peer-service.js';
import { AgentPeerSync } from './peer-sync.js';
import { ProxyAccessLog } from './proxy-access-log.js';

/** Version reported by ServerStatus. */
export const HUBBLE_SERVER_VERSION = '0.1.0';

/** Options of startHubbleServer. */
export interface HubbleServerOptions {
  /** The agent's gRPC address (unix socket). */
  agentAddress: string;
  /** Addresses to serve on: `host:port` (port 0 picks one), `unix:///path`. */
  listenAddresses: string[];
  nodeName: string;
  /** Cluster name; `default` (or empty) keeps node names unprefixed. */
  clusterName: string;
  /** Ring buffer capacity (2^n-1). */
  bufferCapacity: number;
  /** Capacity of the separate ring of datapath debug events (2^n-1; default 4095). */
  debugBufferCapacity?: number;
  logger: Logger;
  /** Enabled Hubble metrics, upstream --metrics syntax (e.g. `['flow', 'dns:query']`); needs startTelemetry first; unset: none. */
  metrics?: readonly string[];
  /** First agent reconnect delay (default 200 ms). */
  agentBackoffMs?: number;
  /** The node's L7 proxy (cilium-proxy --listen): its access records become L7 flows; unset: none. */
  proxyAddress?: string;
  /**
   * TLS on the TCP listeners (unix sockets stay plaintext); with `ca` and
   * `requireClientCert` it is mutual TLS. Peer notifications then announce TLS.
   */
  tls?: ServerTlsOptions;
}

/** A running hubble-server. */
export interface RunningHubbleServer {
  readonly grpc: GrpcServer;
  /** Bound addresses (ports resolved). */
  readonly addresses: string[];
  readonly ring: RingBuffer<HubbleEvent>;
  /** Debug events (GetDebugEvents); flows, agent and lost events stay on `ring`. */
  readonly debugRing: RingBuffer<HubbleEvent>;
  readonly observer: ObserverService;
  readonly peers: PeerList;
  readonly metadata: MetadataCache;
  readonly subscriber: AgentSubscriber;
  /** Stops the agent subscription and the gRPC server. Idempotent. */
  stop(): Promise<void>;
}

/** Starts a hubble-server: binds its addresses, then subscribes to the agent. */
export async function startHubbleServer(options: HubbleServerOptions): Promise<RunningHubbleServer> {
  const log = options.logger;
  const nodeName = peerName(options.clusterName, options.nodeName);
  const startedAt = process.hrtime.bigint();
  const shutdown = new AbortController();
  const ring = new RingBuffer<HubbleEvent>(options.bufferCapacity);
  const debugRing = new RingBuffer<HubbleEvent>(options.debugBufferCapacity ?? DEFAULT_RING_CAPACITY);
  const metadata = new MetadataCache();
  const parser = new Parser({ nodeName, clusterName: options.clusterName, endpoints: metadata, identities: metadata, ipcache: metadata, services: metadata, now: timestampNow });
  const metrics = options.metrics && options.metrics.length > 0 ? new FlowMetrics(options.metrics) : undefined;
  let seenFlows = 0n;
  let parseErrors = 0;

  const gate = new IngestGate(ring);
  const obs = new ObserverService({
    ring,
    debugRing,
    readers: gate,
    nodeName,
    clusterName: options.clusterName,
    version: HUBBLE_SERVER_VERSION,
    seenFlows: () => seenFlows,
    uptimeNs: () => process.hrtime.bigint() - startedAt,
    shutdownSignal: shutdown.signal,
  });
  // Server health gauges (not Hubble flow metrics): open Observer streams and ring followers.
  const meter = otelMetrics.getMeter('@cilium-ts/hubble-server');
  const streamsGauge = meter.createObservableGauge('hubble_server_observer_streams', { description: 'Open GetFlows/GetAgentEvents/GetDebugEvents streams' });
  const followersGauge = meter.createObservableGauge('hubble_server_ring_followers', { description: 'Readers waiting for new ring buffer entries' });
  const observeStreams: ObservableCallback = (r) => r.observe(obs.activeStreams);
  const observeFollowers: ObservableCallback = (r) => r.observe(ring.waiting + debugRing.waiting);
  streamsGauge.addCallback(observeStreams);
  followersGauge.addCallback(observeFollowers);
  const peers = new PeerList({ tls: options.tls !== undefined });
  const grpc = await createServer({
    component: 'hubble-server',
    logger: log,
    addresses: options.listenAddresses,
    tls: options.tls,
    services: [
      { definition: OBSERVER_WIRE_SERVICE, implementation: obs.handlers() },
      { definition: peer.PeerService, implementation: peerHandlers(peers, shutdown.signal) },
    ],
  });
  grpc.health.set('hubble.server.Observer', 'SERVING');

  const self = { name: nodeName, address: grpc.addresses.find((a) => !a.startsWith('unix:')) ?? grpc.addresses[0] ?? '' };
  peers.upsert(self);
  // The other nodes come from the agent (Metadata.Watch), which watches the kvstore for them.
  const peerSync = new AgentPeerSync(peers, self);

  const dropUndecodable = (err: unknown): void => {
    if (!(err instanceof ParseError)) throw err;
    if (parseErrors++ % 1000 === 0) log.warn('dropping undecodable monitor event', { error: err.message, total: parseErrors });
  };
  const store = (decoded: HubbleEvent): void => {
    if (decoded.kind === 'flow') {
      seenFlows++;
      // A Flow object for the metrics only, not kept on the ring entry.
      if (metrics) metrics.observe(decoded instanceof DatapathFlowEvent ? decoded.toFlow() : decoded.flow);
    } else if (decoded.kind === 'debug') {
      debugRing.write(decoded);
      return;
    }
    ring.write(decoded);
  };
  /** Decodes one monitor event (datapath record, agent event or lost count) into the ring. */
  const ingest = (event: agent.MonitorEvent): void => {
    let decoded: HubbleEvent;
    try {
      decoded = parser.decode(event);
    } catch (err) {
      dropUndecodable(err);
      return;
    }
    store(decoded);
  };
  /** Decodes the records of one DatapathBatch into the ring, each with its own stamp. */
  const ingestBatch = (batch: MonitorBatch): void => {
    const batchNode = parser.nodeNameOf(batch.nodeName);
    let fallback: Timestamp | undefined;
    const stamps = batch.stamps;
    for (let i = 0; i < batch.records.length; i++) {
      let decoded: HubbleEvent;
      try {
        if (i < batch.stampCount) {
          decoded = parser.decodeRecordAt(batch.records[i]!, stamps[2 * i]!, stamps[2 * i + 1]!, batchNode);
        } else {
          fallback ??= batch.seconds >= 0 ? Timestamp.create({ seconds: BigInt(batch.seconds), nanos: batch.nanos }) : timestampNow();
          decoded = parser.decodeRecord(batch.records[i]!, fallback, batchNode);
        }
      } catch (err) {
        dropUndecodable(err);
        continue;
      }
      store(decoded);
    }
  };

  const subscriber = new AgentSubscriber({
    address: options.agentAddress,
    logger: log,
    initialBackoffMs: options.agentBackoffMs,
    ingestGate: gate,
    handlers: {
      monitorMessage(message) {
        if (message.kind === 'batch') ingestBatch(message);
        else ingest(message.event);
      },
      metadataReset: () => {
        metadata.clear();
        peerSync.reset();
      },
      metadataEvent: (event) => {
        metadata.apply(event);
        peerSync.apply(event);
      },
    },
  });
  subscriber.start();
  // L7 flows: the node proxy's access records, with endpoints resolved as for datapath flows.
  const resolver = new EndpointResolver({ endpoints: metadata, identities: metadata, ipcache: metadata });
  const accessLog = options.proxyAddress
    ? new ProxyAccessLog({
        address: options.proxyAddress,
        logger: log,
        initialBackoffMs: options.agentBackoffMs,
        onRecord: (r) => {
          const f = accessLogFlow(r, resolver, nodeName, timestampNow);
          store({ kind: 'flow', time: f.time!, nodeName, flow: f });
        },
      })
    : undefined;
  accessLog?.start();


  let stopping: Promise<void> | undefined;
  return {
    grpc,
    addresses: grpc.addresses,
    ring,
    debugRing,
    observer: obs,
    peers,
    metadata,
    subscriber,
    stop() {
      stopping ??= (async () => {
        shutdown.abort();
        streamsGauge.removeCallback(observeStreams);
        followersGauge.removeCallback(observeFollowers);
        subscriber.stop();
        accessLog?.stop();
        await grpc.shutdown({ timeoutMs: 5000 });
      })();
      return stopping;
    },
  };
}
