#!/usr/bin/env node
// hubble-server: per-node Hubble. Flags, wiring and lifecycle live here.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { createNoopMeter } from '@opentelemetry/api';
import { isValidRingCapacity } from '@cilium-ts/flow';
import { checkMetricsHost, installSignalHandlers, metricsHostFlag, startTelemetry } from '@cilium-ts/grpc';
import { createLogger, defineFlags, isLogLevel } from '@cilium-ts/process';
import { startHubbleServer } from './hubble-server.js';
import { DEFAULT_METRICS, FlowMetrics, METRIC_HANDLERS } from './metrics/registry.js';
import { MetricSpecError } from './metrics/metric-spec.js';

const flags = defineFlags(
  {
    proxyAddress: { type: 'string', default: '', env: 'HUBBLE_SERVER_PROXY_ADDRESS', description: "the node's L7 proxy gRPC address (cilium-proxy --listen, e.g. unix:///run/cilium-ts/proxy.sock): its access records become L7 flows (--type l7); empty = no L7 flows" },
    agentSocket: { type: 'string', default: 'unix:///run/cilium-ts/agent.sock', env: 'HUBBLE_SERVER_AGENT_SOCKET', description: "the agent's gRPC address (Monitor and Metadata streams; Metadata also brings the cluster's nodes for Peer)" },
    listenAddress: { type: 'string[]', default: ['127.0.0.1:4244'], env: 'HUBBLE_SERVER_LISTEN_ADDRESS', description: 'addresses to serve Observer/Peer on, comma-separated: host:port or unix:///path' },
    nodeName: { type: 'string', env: 'CILIUM_NODE_NAME', description: "this node's name (default: the host name)" },
    clusterName: { type: 'string', default: 'default', env: 'CILIUM_CLUSTER_NAME', description: "the cluster's name; outside \"default\" node names become cluster/node" },
    bufferCapacity: { type: 'number', default: 4095, description: 'flow ring buffer capacity, 2^n-1' },
    debugBufferCapacity: { type: 'number', default: 4095, description: 'ring buffer capacity for datapath debug events (GetDebugEvents), 2^n-1' },
    metricsPort: { type: 'number', default: 0, description: 'serve Prometheus metrics on this port at /metrics (0: off)' },
    ...metricsHostFlag,
    metrics: { type: 'string[]', default: DEFAULT_METRICS, env: 'HUBBLE_SERVER_METRICS', description: `Hubble metrics to export, upstream syntax name[:option=value;...]: ${METRIC_HANDLERS.map((h) => h.name).join(', ')} (options sourceContext/destinationContext=namespace|pod|pod-short|dns|ip|identity|reserved-identity|workload-name|app; dns: query, ignoreAAAA); empty: none` },
    logLevel: { type: 'string', default: 'info', env: 'CILIUM_LOG_LEVEL', description: 'debug, info, warn or error' },
    hubbleTlsCertFile: { type: 'string', env: 'HUBBLE_SERVER_TLS_CERT_FILE', description: 'PEM certificate for TLS on the TCP listen addresses (with --hubble-tls-key-file; unix sockets stay plaintext)' },
    hubbleTlsKeyFile: { type: 'string', env: 'HUBBLE_SERVER_TLS_KEY_FILE', description: 'PEM private key of --hubble-tls-cert-file' },
    hubbleTlsClientCaFiles: { type: 'string[]', env: 'HUBBLE_SERVER_TLS_CLIENT_CA_FILES', description: 'PEM CA files; when given, clients must present a certificate they signed (mutual TLS)' },
  },
  { program: 'hubble-server', summary: 'Per-node Hubble: decodes the agent\'s datapath events into flows and serves observer.Observer and peer.Peer.' },
);

const noopMeter = createNoopMeter();

async function main(): Promise<void> {
  const { values: v } = flags.parseOrExit();
  const fail = (msg: string): never => {
    process.stderr.write(`hubble-server: ${msg}\n`);
    process.exit(2);
  };
  if (!isLogLevel(v.logLevel)) fail(`invalid --log-level "${v.logLevel}"; use debug, info, warn or error`);
  if (!isValidRingCapacity(v.bufferCapacity)) fail(`invalid --buffer-capacity ${v.bufferCapacity}; use 2^n-1, e.g. 4095 or 65535`);
  if (!isValidRingCapacity(v.debugBufferCapacity)) fail(`invalid --debug-buffer-capacity ${v.debugBufferCapacity}; use 2^n-1, e.g. 1023 or 4095`);
  if (v.listenAddress.length === 0) fail('--listen-address needs at least one address');
  try {
    checkMetricsHost(v.metricsHost);
  } catch (err) {
    fail((err as Error).message);
  }
  try {
    new FlowMetrics(v.metrics, noopMeter);
  } catch (err) {
    if (err instanceof MetricSpecError) fail(err.message);
    throw err;
  }
  if ((v.hubbleTlsCertFile === '') !== (v.hubbleTlsKeyFile === '')) fail('--hubble-tls-cert-file and --hubble-tls-key-file go together; give both or neither');
  if (v.hubbleTlsClientCaFiles.length > 0 && v.hubbleTlsCertFile === '') fail('--hubble-tls-client-ca-files needs --hubble-tls-cert-file and --hubble-tls-key-file (mutual TLS is TLS first)');
  const readPem = (flag: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      return fail(`cannot read ${flag} "${file}": ${(err as Error).message}`);
    }
  };
  const tls = v.hubbleTlsCertFile
    ? {
        cert: readPem('--hubble-tls-cert-file', v.hubbleTlsCertFile),
        key: readPem('--hubble-tls-key-file', v.hubbleTlsKeyFile),
        ca: v.hubbleTlsClientCaFiles.length > 0 ? Buffer.concat(v.hubbleTlsClientCaFiles.map((f) => readPem('--hubble-tls-client-ca-files', f))) : undefined,
        requireClientCert: v.hubbleTlsClientCaFiles.length > 0,
      }
    : undefined;
  const logger = createLogger('hubble-server', { level: v.logLevel as 'info' });
  if (v.metricsPort > 0) await startTelemetry({ serviceName: 'hubble-server', metricsPort: v.metricsPort, metricsHost: v.metricsHost, logger });
  else await startTelemetry({ serviceName: 'hubble-server', logger });
  const server = await startHubbleServer({
    agentAddress: v.agentSocket,
    proxyAddress: v.proxyAddress || undefined,
    listenAddresses: v.listenAddress,
    nodeName: v.nodeName || hostname(),
    clusterName: v.clusterName,
    bufferCapacity: v.bufferCapacity,
    debugBufferCapacity: v.debugBufferCapacity,
    logger,
    metrics: v.metricsPort > 0 ? v.metrics : [],
    tls,
  });
  installSignalHandlers({ shutdown: () => server.stop(), logger });
  logger.info('hubble-server started', { addresses: server.addresses, agent: v.agentSocket, node: v.nodeName || hostname() });
}

main().catch((err: unknown) => {
  process.stderr.write(`hubble-server: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
