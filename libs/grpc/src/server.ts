// The server bootstrap every service uses: registers services (each handler wrapped
// with tracing, metrics, error mapping, stream tracking), health and reflection, binds
// unix sockets and TCP ports, and shuts down gracefully.
import { chmod } from 'node:fs/promises';
import { Server, ServerCredentials, type ServerOptions, type ServiceDefinition } from '@grpc/grpc-js';
import { descriptorSetPath, health as healthApi, reflectionV1, reflectionV1alpha } from '@cilium-ts/api';
import { DescriptorPool } from './descriptor-pool.js';
import { HealthRegistry, ServingStatus } from './health.js';
import { AddressError, parseAddress, prepareUnixSocket, removeUnixSocket } from './listen-address.js';
import { createLogger, type Logger } from '@cilium-ts/process';
import { ReflectionResponder } from './reflection.js';
import { instrumentService, serviceNameOf } from './rpc-instrumentation.js';
import { installSignalHandlers, type SignalHandlerOptions } from './shutdown.js';
import { StreamTracker } from './stream-tracker.js';

/** A service to serve: a ts-proto `XxxService` definition and its handlers (`XxxServer`). */
export interface ServiceRegistration {
  definition: ServiceDefinition;
  implementation: object;
}

/** TLS for TCP listeners (unix sockets stay plaintext, guarded by their file mode). */
export interface ServerTlsOptions {
  /** PEM certificate chain. */
  cert: Buffer | string;
  /** PEM private key. */
  key: Buffer | string;
  /** PEM CA bundle to verify client certificates with (mTLS). */
  ca?: Buffer | string;
  /** Require and verify client certificates; only for real mTLS (default false). */
  requireClientCert?: boolean;
}

/** Options of createServer. */
export interface CreateServerOptions {
  /** Component name used in logs, e.g. "agent". */
  component: string;
  services: ServiceRegistration[];
  /** `unix:///abs/path`, `/abs/path.sock`, `host:port` (port 0 picks one). */
  addresses: string[];
  logger?: Logger;
  tls?: ServerTlsOptions;
  /** Descriptor set for reflection; default @cilium-ts/api's all.binpb. */
  descriptorSetPath?: string;
  /** Serve grpc.reflection v1 and v1alpha (default true). */
  reflection?: boolean;
  /** Initial health of "" and of each service (default SERVING). */
  initialHealth?: 'SERVING' | 'NOT_SERVING';
  /** Mode of unix socket files (default 0o660). */
  socketMode?: number;
  /** grpc-js server options (message sizes, keepalive...). */
  grpcOptions?: ServerOptions;
}

/** A running server. */
export interface GrpcServer {
  readonly server: Server;
  readonly health: HealthRegistry;
  readonly tracker: StreamTracker;
  readonly logger: Logger;
  /** Bound addresses, ports resolved: `unix:///path`, `127.0.0.1:40123`. */
  readonly addresses: string[];
  /** Fully-qualified names of the services served (health and reflection included). */
  readonly serviceNames: string[];
  /**
   * Stops accepting calls, lets in-flight unary calls finish, ends streams with OK,
   * forces after timeoutMs (default 10 s), and removes unix socket files. Idempotent.
   */
  shutdown(options?: { timeoutMs?: number }): Promise<void>;
}

/** A listen address that could not be bound. */
export class ListenError extends AddressError {
  constructor(address: string, message: string, options?: { cause?: unknown }) {
    super(address, message, options);
    this.name = 'ListenError';
  }
}

function toBuffer(v: Buffer | string): Buffer {
  return typeof v === 'string' ? Buffer.from(v) : v;
}

/** Creates the server, registers services, health and reflection, and binds every address. */
export async function createServer(options: CreateServerOptions): Promise<GrpcServer> {
  const logger = options.logger ?? createLogger(options.component);
  const tracker = new StreamTracker();
  const health = new HealthRegistry();
  const server = new Server(options.grpcOptions);
  const ictx = { logger, tracker };

  const registrations: ServiceRegistration[] = [...options.services];
  registrations.push({ definition: healthApi.HealthService, implementation: health.implementation() });
  const serviceNames = options.services.map((s) => serviceNameOf(s.definition));
  serviceNames.push(serviceNameOf(healthApi.HealthService));

  if (options.reflection ?? true) {
    const pool = DescriptorPool.fromFile(options.descriptorSetPath ?? descriptorSetPath());
    const responder = new ReflectionResponder(pool, () => names);
    registrations.push(
      { definition: reflectionV1.ServerReflectionService, implementation: responder.v1Implementation() },
      { definition: reflectionV1alpha.ServerReflectionService, implementation: responder.v1alphaImplementation() },
    );
    serviceNames.push(serviceNameOf(reflectionV1.ServerReflectionService), serviceNameOf(reflectionV1alpha.ServerReflectionService));
    const known = new Set(pool.serviceNames());
    for (const name of serviceNames) {
      if (!known.has(name)) logger.warn('service is missing from the descriptor set; reflection cannot describe it', { service: name });
    }
  }
  const names = [...serviceNames];

  for (const reg of registrations) server.addService(reg.definition, instrumentService(reg.definition, reg.implementation, ictx));

  const initial = ServingStatus[options.initialHealth ?? 'SERVING'];
  health.set('', initial);
  for (const s of options.services) health.set(serviceNameOf(s.definition), initial);

  const tcpCredentials = options.tls
    ? ServerCredentials.createSsl(
        options.tls.ca ? toBuffer(options.tls.ca) : null,
        [{ cert_chain: toBuffer(options.tls.cert), private_key: toBuffer(options.tls.key) }],
        options.tls.requireClientCert ?? false,
      )
    : ServerCredentials.createInsecure();

  const bound: string[] = [];
  const sockets: string[] = [];
  const cleanup = async () => {
    for (const path of sockets) await removeUnixSocket(path).catch(() => {});
  };
  try {
    for (const address of options.addresses) {
      const parsed = parseAddress(address);
      if (parsed.kind === 'unix') await prepareUnixSocket(parsed.path);
      const creds = parsed.kind === 'unix' ? ServerCredentials.createInsecure() : tcpCredentials;
      const port = await new Promise<number>((resolve, reject) => {
        server.bindAsync(parsed.target, creds, (err, p) => (err ? reject(err) : resolve(p)));
      }).catch((err: Error) => {
        throw new ListenError(address, `cannot listen on ${address}: ${err.message}`, { cause: err });
      });
      if (parsed.kind === 'unix') {
        sockets.push(parsed.path);
        await chmod(parsed.path, options.socketMode ?? 0o660);
        bound.push(parsed.target);
      } else {
        bound.push(`${parsed.host}:${port}`);
      }
    }
  } catch (err) {
    server.forceShutdown();
    await cleanup();
    throw err;
  }
  logger.info('serving gRPC', { addresses: bound, services: names });

  let stopping: Promise<void> | undefined;
  return {
    server,
    health,
    tracker,
    logger,
    addresses: bound,
    serviceNames: names,
    shutdown(opts = {}) {
      stopping ??= (async () => {
        const timeoutMs = opts.timeoutMs ?? 10_000;
        health.shutdown();
        const drained = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
        tracker.endAll();
        let timer: NodeJS.Timeout | undefined;
        const timedOut = await Promise.race([
          drained.then(() => false),
          new Promise<boolean>((resolve) => {
            timer = setTimeout(() => resolve(true), timeoutMs);
          }),
        ]);
        clearTimeout(timer);
        if (timedOut) {
          logger.warn('in-flight calls did not finish in time; closing connections', { timeoutMs });
          server.forceShutdown();
        }
        await cleanup();
        logger.info('gRPC server stopped', { addresses: bound });
      })();
      return stopping;
    },
  };
}

/** Options of serve: createServer's plus the signal handling ones. */
export interface ServeOptions extends CreateServerOptions {
  /** Grace period for in-flight calls at shutdown (default 10 s). */
  shutdownTimeoutMs?: number;
  /** Extra signal handler options. */
  signals?: Omit<SignalHandlerOptions, 'timeoutMs' | 'logger'>;
}

/** createServer, then installSignalHandlers: SIGTERM/SIGINT drain the server and exit 0. */
export async function serve(options: ServeOptions): Promise<GrpcServer> {
  const s = await createServer(options);
  installSignalHandlers(s, { ...options.signals, timeoutMs: options.shutdownTimeoutMs, logger: s.logger });
  return s;
}
