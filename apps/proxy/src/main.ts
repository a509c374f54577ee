#!/usr/bin/env node
// cilium-proxy: the per-node L7 proxy. Flags, wiring and lifecycle live here.
import { IpcacheReader } from '@cilium-ts/bpf';
import { checkMetricsHost, metricsHostFlag, onShutdown, packageVersion, serve, startTelemetry } from '@cilium-ts/grpc';
import { createLogger, defineFlags, isLogLevel, type LogLevel } from '@cilium-ts/process';
import { L7Proxy } from './proxy.js';
import { proxyService } from './proxy-service.js';
import { makeTransparent } from './socket-options.js';
import { installTproxy } from './tproxy-rules.js';

const flags = defineFlags(
  {
    listen: { type: 'string[]', default: ['unix:///run/cilium-ts/proxy.sock'], env: 'CILIUM_PROXY_LISTEN', description: 'gRPC listen addresses for the agent (Sync, AccessLog, Status): unix:///path or host:port' },
    bpfPinDir: { type: 'string', default: '/sys/fs/bpf/cilium-ts', env: 'CILIUM_BPF_PIN_DIR', description: "the agent's datapath pin directory; the proxy reads the peers' identities from its ipcache map" },
    proxyListenHost: { type: 'string', default: '127.0.0.1', description: 'address the HTTP listeners (10001 ingress, 10002 egress) and the DNS listener (10004 egress, TCP; its UDP sockets bind this address, or 127.0.0.1 and ::1 for ::) bind; TPROXY delivers redirected traffic to it' },
    transparent: { type: 'boolean', default: true, description: 'make the listeners transparent (IP_TRANSPARENT) and install the TPROXY rules and policy route of this network namespace (run the proxy in the node namespace); --no-transparent for a plain proxy' },
    metricsPort: { type: 'number', default: 0, description: 'serve Prometheus metrics on this port at /metrics (0: off)' },
    ...metricsHostFlag,
    logLevel: { type: 'string', default: 'info', env: 'CILIUM_LOG_LEVEL', description: 'debug, info, warn or error' },
  },
  { program: 'cilium-proxy', summary: 'cilium-ts per-node L7 proxy: enforces the HTTP and DNS rules the agent pushes on traffic the datapath redirects to it (TPROXY), and reports access records.' },
);

function fail(message: string): never {
  process.stderr.write(`cilium-proxy: ${message}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  const { values: v } = flags.parseOrExit();
  if (!isLogLevel(v.logLevel)) fail(`--log-level: "${v.logLevel}" is not one of debug, info, warn, error`);
  if (v.listen.length === 0) fail('--listen needs at least one address');
  try {
    checkMetricsHost(v.metricsHost);
  } catch (err) {
    fail((err as Error).message);
  }
  let ipcache: IpcacheReader;
  try {
    ipcache = IpcacheReader.openPinned(v.bpfPinDir);
  } catch (err) {
    fail(`--bpf-pin-dir: cannot open ${v.bpfPinDir}/ipcache (is the agent running with this pin directory?): ${(err as Error).message}`);
  }
  const logger = createLogger('proxy', { level: v.logLevel as LogLevel });
  await startTelemetry({ serviceName: 'cilium-proxy', metricsPort: v.metricsPort > 0 ? v.metricsPort : undefined, metricsHost: v.metricsHost, logger });
  const proxy = new L7Proxy({
    identities: ipcache,
    logger,
    listenHost: v.proxyListenHost,
    onListening: v.transparent ? makeTransparent : undefined,
  });
  const listeners = await proxy.start();
  if (v.transparent) installTproxy(listeners.map((l) => l.proxyPort), v.proxyListenHost);
  onShutdown(async () => {
    await proxy.stop();
    ipcache.close();
  });
  const server = await serve({ component: 'proxy', services: [proxyService(proxy, logger, packageVersion(import.meta.url))], addresses: v.listen, logger });
  logger.info('proxy started', { addresses: server.addresses, listeners, transparent: v.transparent, pinDir: v.bpfPinDir });
}

main().catch((err: unknown) => {
  process.stderr.write(`cilium-proxy: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
