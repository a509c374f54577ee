// OpenTelemetry for a service: @opentelemetry/sdk-node with a Prometheus endpoint
// (when a metrics port is given) and a tracer provider whose spans stay in-process
// unless OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) names a collector.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
// The SDK and exporters are loaded inside startTelemetry: importing them costs about
// 0.4 s of CPU, which short-lived processes (CLIs, the CNI plugin) should not pay.
import type { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import type { NodeSDKConfiguration, tracing } from '@opentelemetry/sdk-node';
import { isIP } from 'node:net';
import { FlagError } from '@cilium-ts/process';
import { createLogger, type Logger } from '@cilium-ts/process';
import { onShutdown } from './shutdown.js';

/** Options of startTelemetry. */
export interface TelemetryOptions {
  /** service.name of the resource, e.g. "cilium-agent". */
  serviceName: string;
  /** Serve Prometheus metrics at http://<metricsHost>:<metricsPort>/metrics; 0 picks a free port. */
  metricsPort?: number;
  /** Address the metrics endpoint binds; default loopback (127.0.0.1), as the `--metrics-host` flag. */
  metricsHost?: string;
  /** Extra span processors (e.g. an in-memory exporter in tests). */
  spanProcessors?: tracing.SpanProcessor[];
  logger?: Logger;
}

/** A started telemetry pipeline. */
export interface Telemetry {
  /** Where the Prometheus endpoint listens, when a metrics port was given. */
  readonly metricsAddress: { host: string; port: number } | undefined;
  /** Flushes and stops exporters and the metrics endpoint; safe to call twice. */
  shutdown(): Promise<void>;
}

/** A telemetry pipeline that could not be started. */
export class TelemetryError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TelemetryError';
  }
}

/** Where a metrics endpoint binds unless told otherwise: loopback, so nothing beyond this machine reads it. */
export const defaultMetricsHost = '127.0.0.1';

/** The `--metrics-host` flag every service defines (spread it into defineFlags' specs). */
export const metricsHostFlag = {
  metricsHost: {
    type: 'string',
    default: defaultMetricsHost,
    description: 'Address the Prometheus metrics endpoint binds: loopback by default; 0.0.0.0 or :: (or one interface\'s address) exposes it beyond this machine',
  },
} as const;

/** Checks a `--metrics-host` value; throws FlagError naming the flag when it is not an IP address. */
export function checkMetricsHost(host: string): void {
  if (isIP(host) === 0) {
    throw new FlagError('--metrics-host', `--metrics-host: "${host}" is not an IP address; use 127.0.0.1 (default), ::1, 0.0.0.0 or :: (every interface), or an interface's address`);
  }
}

/** Whether the environment names an OTLP collector for traces. */
export function otlpTracesConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/**
 * Starts the OpenTelemetry SDK for this process and registers its flush with
 * onShutdown. Nothing is sent over the network unless OTEL_EXPORTER_OTLP_ENDPOINT is set.
 */
export async function startTelemetry(options: TelemetryOptions): Promise<Telemetry> {
  const logger = options.logger ?? createLogger('telemetry');
  const { NodeSDK, resources, tracing: sdkTracing } = await import('@opentelemetry/sdk-node');
  let prometheus: PrometheusExporter | undefined;
  let httpServer: Server | undefined;
  let metricsAddress: Telemetry['metricsAddress'];

  if (options.metricsPort !== undefined) {
    const { PrometheusExporter } = await import('@opentelemetry/exporter-prometheus');
    prometheus = new PrometheusExporter({ preventServerStart: true });
    const exporter = prometheus;
    httpServer = createServer((req, res) => {
      if (req.url?.split('?')[0] === '/metrics') exporter.getMetricsRequestHandler(req, res);
      else {
        res.statusCode = 404;
        res.end('not found: metrics are at /metrics\n');
      }
    });
    const server = httpServer;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) =>
        reject(new TelemetryError(`cannot serve metrics on port ${options.metricsPort}: ${err.message}; choose another --metrics-port`, { cause: err })));
      server.listen({ port: options.metricsPort, host: options.metricsHost ?? defaultMetricsHost }, () => resolve());
    });
    server.unref();
    const addr = server.address() as AddressInfo;
    metricsAddress = { host: addr.address, port: addr.port };
  }

  const spanProcessors: tracing.SpanProcessor[] = [...(options.spanProcessors ?? [])];
  if (otlpTracesConfigured()) {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
    spanProcessors.push(new sdkTracing.BatchSpanProcessor(new OTLPTraceExporter()));
  }
  // A tracer provider is always registered, so that spans and trace ids exist for
  // context propagation across gRPC hops even when nothing exports them.
  if (spanProcessors.length === 0) spanProcessors.push(new sdkTracing.NoopSpanProcessor());

  const config: Partial<NodeSDKConfiguration> = {
    serviceName: options.serviceName,
    // The resource becomes Prometheus' target_info: no process detector, whose attributes
    // carry the whole command line (process.command_args) and the executable's path.
    resourceDetectors: [resources.envDetector, resources.hostDetector],
    // Explicit (possibly empty) lists: never fall back to the SDK's OTLP defaults.
    metricReaders: (prometheus ? [prometheus] : []) as unknown as NodeSDKConfiguration['metricReaders'],
    spanProcessors,
    logRecordProcessors: [],
    instrumentations: [],
  };
  const sdk = new NodeSDK(config);
  sdk.start();
  logger.debug('telemetry started', { serviceName: options.serviceName, metrics: metricsAddress, otlpTraces: otlpTracesConfigured() });

  let stopped: Promise<void> | undefined;
  const telemetry: Telemetry = {
    metricsAddress,
    shutdown() {
      stopped ??= (async () => {
        unregister();
        try {
          await sdk.shutdown();
        } catch (err) {
          logger.warn('telemetry shutdown failed', { error: err });
        }
        if (httpServer?.listening) await new Promise<void>((resolve) => httpServer!.close(() => resolve()));
      })();
      return stopped;
    },
  };
  const unregister = onShutdown(() => telemetry.shutdown());
  return telemetry;
}
