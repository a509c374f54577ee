#!/usr/bin/env node
// hubble-relay: one per cluster. Discovers hubble-servers through peer.Peer (or a static
// list), keeps a connection pool with backoff and serves observer.Observer for the whole
// cluster, merging node streams in time order.
import { checkMetricsHost, installSignalHandlers, metricsHostFlag, startTelemetry } from '@cilium-ts/grpc';
import { createLogger, defineFlags, DurationError, FlagError, isLogLevel, parseDuration } from '@cilium-ts/process';
import { InvalidPeerAddressError, toListenTarget } from './peer-address.js';
import { startRelay } from './relay.js';
import { credentials } from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';

const flags = defineFlags(
  {
    listenAddress: { type: 'string[]', default: ['127.0.0.1:4245'], env: 'HUBBLE_RELAY_LISTEN_ADDRESS', description: 'Addresses to serve on: host:port, :port or unix:///path (repeat or comma separate)' },
    peerService: { type: 'string', env: 'HUBBLE_RELAY_PEER_SERVICE', description: 'Address of a hubble-server Peer service, e.g. 127.0.0.1:4244 or unix:///var/run/cilium/hubble.sock' },
    staticPeers: { type: 'string[]', description: 'Peers to use without (or besides) the Peer service: name=address,...' },
    sortBufferLenMax: { type: 'number', default: 100, description: 'Largest number of flows held to sort node streams by time' },
    sortBufferDrainTimeout: { type: 'string', default: '1s', description: 'Flush sort buffer entries older than this when nothing arrives for this long' },
    dialTimeout: { type: 'string', default: '5s', description: 'Timeout of one connection attempt to a peer' },
    retryTimeout: { type: 'string', default: '30s', description: 'Longest wait between reconnection attempts (peers and the Peer service)' },
    errorAggregationWindow: { type: 'string', default: '10s', description: 'Node errors with the same message within this window become one NODE_ERROR event' },
    nodeName: { type: 'string', env: 'HUBBLE_RELAY_NODE_NAME', description: 'Name put on node_status events (default the host name)' },
    metricsPort: { type: 'number', default: -1, description: 'Serve Prometheus metrics on this port (-1 disables)' },
    ...metricsHostFlag,
    logLevel: { type: 'string', default: 'info', env: 'CILIUM_LOG_LEVEL', description: 'Log level: debug, info, warn, error' },
    tlsHubbleServerCaFiles: { type: 'string[]', description: 'PEM CA files to verify peers that announce TLS (default system roots)' },
    tlsClientCertFile: { type: 'string', description: 'PEM client certificate presented to TLS peers' },
    tlsClientKeyFile: { type: 'string', description: 'PEM client key for --tls-client-cert-file' },
    peerServiceTlsServerName: { type: 'string', description: 'Dial --peer-service over TLS (CA from --tls-hubble-server-ca-files, client certificate from --tls-client-cert-file) and verify this name, e.g. hubble-peer.default.hubble-grpc.cilium.io' },
    tlsRelayServerCertFile: { type: 'string', env: 'HUBBLE_RELAY_TLS_SERVER_CERT_FILE', description: 'PEM certificate for TLS on the TCP listen addresses (with --tls-relay-server-key-file; unix sockets stay plaintext)' },
    tlsRelayServerKeyFile: { type: 'string', env: 'HUBBLE_RELAY_TLS_SERVER_KEY_FILE', description: 'PEM private key of --tls-relay-server-cert-file' },
    tlsRelayClientCaFiles: { type: 'string[]', env: 'HUBBLE_RELAY_TLS_CLIENT_CA_FILES', description: 'PEM CA files; when given, clients must present a certificate they signed (mutual TLS)' },
    disableServerTls: { type: 'boolean', env: 'HUBBLE_RELAY_DISABLE_SERVER_TLS', description: 'Serve plaintext on the listen addresses, as upstream\'s flag (also the default without --tls-relay-server-cert-file); refused together with it' },
  },
  { program: 'hubble-relay', summary: 'Cluster-wide Hubble API: merges the flows of every hubble-server.' },
);

async function main(): Promise<void> {
  const { values } = flags.parseOrExit();
  if (!isLogLevel(values.logLevel)) throw new FlagError('--log-level', `invalid --log-level "${values.logLevel}": use debug, info, warn or error`);
  checkMetricsHost(values.metricsHost);
  const logger = createLogger('hubble-relay', { level: values.logLevel });
  const staticPeers = values.staticPeers.map((entry) => {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new FlagError('--static-peers', `invalid --static-peers entry "${entry}": use name=address`);
    return { name: entry.slice(0, eq), address: entry.slice(eq + 1) };
  });
  if (values.peerService === '' && staticPeers.length === 0) {
    throw new FlagError('--peer-service', 'give --peer-service (a hubble-server Peer service) or --static-peers');
  }
  if (values.disableServerTls && (values.tlsRelayServerCertFile !== '' || values.tlsRelayClientCaFiles.length > 0)) {
    throw new FlagError('--disable-server-tls', '--disable-server-tls contradicts --tls-relay-server-cert-file / --tls-relay-client-ca-files; drop one of them');
  }
  if ((values.tlsRelayServerCertFile === '') !== (values.tlsRelayServerKeyFile === '')) {
    throw new FlagError('--tls-relay-server-cert-file', '--tls-relay-server-cert-file and --tls-relay-server-key-file go together; give both or neither');
  }
  if (values.tlsRelayClientCaFiles.length > 0 && values.tlsRelayServerCertFile === '') {
    throw new FlagError('--tls-relay-client-ca-files', '--tls-relay-client-ca-files needs --tls-relay-server-cert-file and --tls-relay-server-key-file (mutual TLS is TLS first)');
  }
  if ((values.tlsClientCertFile === '') !== (values.tlsClientKeyFile === '')) {
    throw new FlagError('--tls-client-cert-file', '--tls-client-cert-file and --tls-client-key-file go together; give both or neither');
  }
  const readPem = (flag: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new FlagError(flag, `cannot read ${flag} "${file}": ${(err as Error).message}`);
    }
  };
  const serverTls = values.tlsRelayServerCertFile
    ? {
        cert: readPem('--tls-relay-server-cert-file', values.tlsRelayServerCertFile),
        key: readPem('--tls-relay-server-key-file', values.tlsRelayServerKeyFile),
        ca: values.tlsRelayClientCaFiles.length > 0
          ? Buffer.concat(values.tlsRelayClientCaFiles.map((f) => readPem('--tls-relay-client-ca-files', f)))
          : undefined,
        requireClientCert: values.tlsRelayClientCaFiles.length > 0,
      }
    : undefined;
  const ca = values.tlsHubbleServerCaFiles.length > 0
    ? Buffer.concat(values.tlsHubbleServerCaFiles.map((f) => readPem('--tls-hubble-server-ca-files', f)))
    : null;
  const key = values.tlsClientKeyFile ? readPem('--tls-client-key-file', values.tlsClientKeyFile) : null;
  const cert = values.tlsClientCertFile ? readPem('--tls-client-cert-file', values.tlsClientCertFile) : null;
  if (values.metricsPort >= 0) await startTelemetry({ serviceName: 'hubble-relay', metricsPort: values.metricsPort, metricsHost: values.metricsHost, logger });
  const relay = await startRelay({
    listenAddresses: values.listenAddress.map(toListenTarget),
    peerService: values.peerService || undefined,
    staticPeers,
    sortBufferLenMax: values.sortBufferLenMax,
    sortBufferDrainTimeoutMs: parseDuration(values.sortBufferDrainTimeout, 'sort-buffer-drain-timeout'),
    dialTimeoutMs: parseDuration(values.dialTimeout, 'dial-timeout'),
    retryTimeoutMs: parseDuration(values.retryTimeout, 'retry-timeout'),
    errorAggregationWindowMs: parseDuration(values.errorAggregationWindow, 'error-aggregation-window'),
    nodeName: values.nodeName || undefined,
    peerTlsCredentials: () => credentials.createSsl(ca, key, cert),
    peerTlsMaterial: { ca: ca ?? undefined, key: key ?? undefined, cert: cert ?? undefined },
    peerServiceCredentials: values.peerServiceTlsServerName ? credentials.createSsl(ca, key, cert) : undefined,
    peerServiceTlsServerName: values.peerServiceTlsServerName || undefined,
    tls: serverTls,
    logger,
  });
  installSignalHandlers(relay.server, { logger });
}

main().catch((err: unknown) => {
  if (err instanceof FlagError || err instanceof DurationError || err instanceof InvalidPeerAddressError) {
    process.stderr.write(`hubble-relay: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`hubble-relay: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
