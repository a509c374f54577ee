#!/usr/bin/env node
// hubble-ui: the Hubble UI backend. Serves the service map page (and every script and style
// it uses) on a loopback address by default and talks to hubble-relay over gRPC.
import { readFileSync } from 'node:fs';
import { observer } from '@cilium-ts/api';
import { checkMetricsHost, createClient, installSignalHandlers, metricsHostFlag, startTelemetry } from '@cilium-ts/grpc';
import { createLogger, defineFlags, FlagError, isLogLevel } from '@cilium-ts/process';
import { startUiServer } from './ui-server.js';

const flags = defineFlags(
  {
    listenAddress: { type: 'string', default: '127.0.0.1:12000', env: 'HUBBLE_UI_LISTEN_ADDRESS', description: 'host:port to serve the page on (loopback by default; port 0 picks a free one)' },
    relayAddress: { type: 'string', default: '127.0.0.1:4245', env: 'HUBBLE_RELAY_ADDRESS', description: 'hubble-relay address: host:port or unix:///path' },
    tls: { type: 'boolean', env: 'HUBBLE_TLS', description: 'Use TLS to the relay (system roots unless --tls-ca-cert-files)' },
    tlsCaCertFiles: { type: 'string[]', env: 'HUBBLE_TLS_CA_CERT_FILES', description: 'PEM CA certificates that replace the system roots (implies --tls)' },
    tlsClientCertFile: { type: 'string', env: 'HUBBLE_TLS_CLIENT_CERT_FILE', description: 'PEM client certificate for mutual TLS (implies --tls)' },
    tlsClientKeyFile: { type: 'string', env: 'HUBBLE_TLS_CLIENT_KEY_FILE', description: 'PEM client key for --tls-client-cert-file' },
    tlsServerName: { type: 'string', env: 'HUBBLE_TLS_SERVER_NAME', description: 'Relay certificate name to verify (and SNI)' },
    maxQueuedFlows: { type: 'number', default: 5000, description: 'Most flows held per page between batches; older ones are dropped and counted' },
    metricsPort: { type: 'number', default: -1, description: 'Serve Prometheus metrics on this port (-1 disables)' },
    ...metricsHostFlag,
    logLevel: { type: 'string', default: 'info', env: 'CILIUM_LOG_LEVEL', description: 'Log level: debug, info, warn, error' },
  },
  { program: 'hubble-ui', summary: 'Hubble UI: the service map and flows of the cluster, from hubble-relay.' },
);

function hostPort(flag: string, value: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(value);
  if (!m || Number(m[2]) > 65535) throw new FlagError(flag, `invalid ${flag} "${value}": use host:port, e.g. 127.0.0.1:12000`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

async function main(): Promise<void> {
  const { values } = flags.parseOrExit();
  if (!isLogLevel(values.logLevel)) throw new FlagError('--log-level', `invalid --log-level "${values.logLevel}": use debug, info, warn or error`);
  checkMetricsHost(values.metricsHost);
  if (!Number.isInteger(values.maxQueuedFlows) || values.maxQueuedFlows < 1) throw new FlagError('--max-queued-flows', `invalid --max-queued-flows ${values.maxQueuedFlows}: a positive integer`);
  if ((values.tlsClientCertFile === '') !== (values.tlsClientKeyFile === '')) {
    throw new FlagError('--tls-client-cert-file', '--tls-client-cert-file and --tls-client-key-file go together; give both or neither');
  }
  const listen = hostPort('--listen-address', values.listenAddress);
  const readPem = (flag: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new FlagError(flag, `cannot read ${flag} "${file}": ${(err as Error).message}`);
    }
  };
  const useTls = values.tls || values.tlsCaCertFiles.length > 0 || values.tlsClientCertFile !== '';
  const tls = useTls
    ? {
        ca: values.tlsCaCertFiles.length > 0 ? Buffer.concat(values.tlsCaCertFiles.map((f) => readPem('--tls-ca-cert-files', f))) : undefined,
        cert: values.tlsClientCertFile ? readPem('--tls-client-cert-file', values.tlsClientCertFile) : undefined,
        key: values.tlsClientKeyFile ? readPem('--tls-client-key-file', values.tlsClientKeyFile) : undefined,
        serverName: values.tlsServerName || undefined,
      }
    : false;
  const logger = createLogger('hubble-ui', { level: values.logLevel });
  if (values.metricsPort >= 0) await startTelemetry({ serviceName: 'hubble-ui', metricsPort: values.metricsPort, metricsHost: values.metricsHost, logger });
  const relay = createClient(observer.ObserverClient, values.relayAddress, { tls, channelOptions: { 'grpc.max_receive_message_length': 16 * 1024 * 1024 } });
  const ui = await startUiServer({ host: listen.host, port: listen.port, relay, logger, maxQueuedFlows: values.maxQueuedFlows });
  logger.info('hubble-ui ready', { url: ui.url, relay: values.relayAddress, tls: useTls });
  installSignalHandlers(ui, { logger });
}

main().catch((err: unknown) => {
  if (err instanceof FlagError) {
    process.stderr.write(`hubble-ui: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`hubble-ui: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
