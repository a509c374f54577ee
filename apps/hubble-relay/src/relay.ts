import { hostname } from 'node:os';
import { credentials as grpcCredentials, type ChannelCredentials } from '@grpc/grpc-js';
import { createServer, ServingStatus, type GrpcServer, type ServerTlsOptions } from '@cilium-ts/grpc';
import { createLogger, type Logger } from '@cilium-ts/process';
import type { PeerSpec, PeerTLS } from './peer-connection.js';
import type { RelayFlowStats } from './get-flows.js';
import { PeerManager } from './peer-manager.js';
import { createRelayObserver } from './relay-observer.js';
import { RELAY_OBSERVER_SERVICE } from './wire-response.js';
import type { PeerTlsMaterial } from './peer-connection.js';

/** RELAY_VERSION is what ServerStatus reports as the relay's version. */
export const RELAY_VERSION = '1.11.0-cilium-ts';

/** Health service names the relay answers for (the CLI asks for `hubble.server.Observer`). */
export const HEALTH_SERVICES = ['', 'hubble.server.Observer', 'observer.Observer'];

/** RelayOptions configure a relay instance. */
export interface RelayOptions {
  /** Addresses to listen on: host:port, :port, unix:///path. */
  listenAddresses: string[];
  peerService?: string;
  staticPeers?: PeerSpec[];
  sortBufferLenMax?: number;
  sortBufferDrainTimeoutMs?: number;
  dialTimeoutMs?: number;
  retryTimeoutMs?: number;
  /** First reconnect delay for peers (default 1 s). */
  backoffInitialMs?: number;
  errorAggregationWindowMs?: number;
  /** Deadline of each peer's ServerStatus call (default 5 s, well within the CLI's 12 s). */
  peerStatusTimeoutMs?: number;
  /** Name on node_status events (default the host name). */
  nodeName?: string;
  /** Credentials for peers that announced TLS (default: system roots, no client cert). */
  peerTlsCredentials?: (tls: PeerTLS) => ChannelCredentials;
  /**
   * The same material as PEM bytes, for GetFlows from TLS peers over the relay's lean HTTP/2
   * reader; without it those calls go through grpc-js (slower per flow).
   */
  peerTlsMaterial?: PeerTlsMaterial;
  /** Credentials for the Peer service connection (default plaintext). */
  peerServiceCredentials?: ChannelCredentials;
  /** TLS name to verify the Peer service's certificate against (with peerServiceCredentials). */
  peerServiceTlsServerName?: string;
  /** TLS on the relay's TCP listeners; with `ca` and `requireClientCert` it is mutual TLS. */
  tls?: ServerTlsOptions;
  logger?: Logger;
  /** Write GetFlows responses to callers in batches on their HTTP/2 stream (default true; false: grpc-js, one message at a time). */
  batchedWrites?: boolean;
  /** Serve gRPC reflection (default true). */
  reflection?: boolean;
}

/** Relay is a running hubble-relay: its gRPC server and peer pool. */
export interface Relay {
  readonly server: GrpcServer;
  readonly peers: PeerManager;
  /** Bound addresses with ports resolved. */
  readonly addresses: string[];
  /** GetFlows calls and peer streams in progress. */
  readonly stats: RelayFlowStats;
  /** stop shuts the server down and closes every peer connection. */
  stop(): Promise<void>;
}

/**
 * startRelay starts peer discovery and serves observer.Observer (merged over all peers),
 * health (SERVING only while the peer service is connected and a peer is available) and
 * reflection on the listen addresses.
 */
export async function startRelay(opts: RelayOptions): Promise<Relay> {
  const logger = opts.logger ?? createLogger('hubble-relay');
  const peers = new PeerManager({
    peerService: opts.peerService,
    peerServiceCredentials: opts.peerServiceCredentials,
    peerServiceTlsServerName: opts.peerServiceTlsServerName,
    staticPeers: opts.staticPeers,
    dialTimeoutMs: opts.dialTimeoutMs ?? 5000,
    retryTimeoutMs: opts.retryTimeoutMs ?? 30_000,
    backoffInitialMs: opts.backoffInitialMs ?? 1000,
    backoffMaxMs: opts.retryTimeoutMs ?? 30_000,
    credentials: (tls) =>
      tls === undefined ? grpcCredentials.createInsecure() : (opts.peerTlsCredentials?.(tls) ?? grpcCredentials.createSsl()),
    tlsMaterial: opts.peerTlsMaterial,
    log: (level, msg, fields) => logger[level](msg, fields),
  });
  const stats: RelayFlowStats = { calls: 0, peerStreams: 0 };
  const implementation = createRelayObserver(peers, {
    stats,
    nodeName: opts.nodeName ?? hostname(),
    sortBufferLenMax: opts.sortBufferLenMax ?? 100,
    sortBufferDrainTimeoutMs: opts.sortBufferDrainTimeoutMs ?? 1000,
    errorAggregationWindowMs: opts.errorAggregationWindowMs ?? 10_000,
    version: RELAY_VERSION,
    peerStatusTimeoutMs: opts.peerStatusTimeoutMs ?? 5000,
    batchedWrites: opts.batchedWrites ?? true,
  });
  const server = await createServer({
    component: 'hubble-relay',
    services: [{ definition: RELAY_OBSERVER_SERVICE, implementation }],
    addresses: opts.listenAddresses,
    tls: opts.tls,
    logger,
    reflection: opts.reflection ?? true,
    initialHealth: 'NOT_SERVING',
  });
  const updateHealth = (): void => {
    const status = peers.healthy ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
    for (const name of HEALTH_SERVICES) server.health.set(name, status);
  };
  updateHealth();
  peers.on('change', updateHealth);
  peers.start();
  return {
    server,
    peers,
    addresses: server.addresses,
    stats,
    async stop() {
      peers.removeListener('change', updateHealth);
      await server.shutdown({ timeoutMs: 2000 });
      peers.stop();
    },
  };
}
