// Client helpers: dial `unix:///path`, `/path.sock` or `host:port` (plaintext or TLS),
// wait for the channel to be ready, and call unary methods as promises with the
// current trace context propagated in metadata.
import {
  type CallOptions,
  type ChannelCredentials,
  type ChannelOptions,
  type Client,
  type ClientReadableStream,
  type ClientUnaryCall,
  credentials,
  Metadata,
  type ServiceError,
} from '@grpc/grpc-js';
import { context, propagation, type TextMapSetter } from '@opentelemetry/api';
import { parseAddress } from './listen-address.js';

/** TLS settings of a client. */
export interface ClientTlsOptions {
  /** PEM CA bundle replacing the system roots. */
  ca?: Buffer | string;
  /** PEM client certificate and key, for mTLS. */
  cert?: Buffer | string;
  key?: Buffer | string;
  /** Name to verify the server certificate against (SNI). */
  serverName?: string;
}

/** Options of createClient. */
export interface CreateClientOptions {
  /** TLS (true: system roots); unix sockets ignore it. */
  tls?: ClientTlsOptions | boolean;
  /** grpc-js channel options. */
  channelOptions?: ChannelOptions;
}

/** A ts-proto generated client constructor, e.g. `agent.DaemonClient`. */
export type ClientConstructor<C> = new (address: string, credentials: ChannelCredentials, options?: Partial<ChannelOptions>) => C;

function buf(v: Buffer | string | undefined): Buffer | null {
  return v === undefined ? null : typeof v === 'string' ? Buffer.from(v) : v;
}

/** The grpc-js target for an address: `unix:///path` for sockets, `host:port` otherwise. */
export function dialTarget(address: string): string {
  return parseAddress(address).target;
}

/** Creates a client of `ClientCtor` for `address` (`unix:///path`, `/path.sock`, `host:port`). */
export function createClient<C>(ClientCtor: ClientConstructor<C>, address: string, options: CreateClientOptions = {}): C {
  const parsed = parseAddress(address);
  let creds: ChannelCredentials = credentials.createInsecure();
  const channelOptions: Partial<ChannelOptions> = { ...options.channelOptions };
  if (options.tls && parsed.kind === 'tcp') {
    const tls = options.tls === true ? {} : options.tls;
    creds = credentials.createSsl(buf(tls.ca), buf(tls.key), buf(tls.cert));
    if (tls.serverName) channelOptions['grpc.ssl_target_name_override'] = tls.serverName;
  }
  return new ClientCtor(parsed.target, creds, channelOptions);
}

/** A client readiness wait that ran out of time. */
export class NotReadyError extends Error {
  readonly target: string;

  constructor(target: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NotReadyError';
    this.target = target;
  }
}

/** Resolves once the client's channel is connected; rejects at `deadline` (a Date, or ms from now). */
export function waitForReady(client: Client, deadline: Date | number): Promise<void> {
  const when = typeof deadline === 'number' ? new Date(Date.now() + deadline) : deadline;
  return new Promise((resolve, reject) => {
    client.waitForReady(when, (err) => {
      if (!err) return resolve();
      const target = client.getChannel().getTarget();
      reject(new NotReadyError(target, `could not connect to ${target} by ${when.toISOString()}: ${err.message}; is the server running?`, { cause: err }));
    });
  });
}

const metadataSetter: TextMapSetter<Metadata> = {
  set: (md, key, value) => md.set(key, value),
};

/** Metadata carrying the active trace context (traceparent), plus `extra` entries. */
export function outgoingMetadata(extra?: Metadata): Metadata {
  const md = extra ? extra.clone() : new Metadata();
  propagation.inject(context.active(), md, metadataSetter);
  return md;
}

/** Options of one unary call. */
export interface UnaryOptions {
  /** Deadline: a Date, or milliseconds from now. */
  deadline?: Date | number;
  metadata?: Metadata;
  callOptions?: Partial<CallOptions>;
}

type UnaryCallback<Res> = (error: ServiceError | null, response: Res) => void;
type UnaryMethodOf<F> = F extends (req: infer Req, md: Metadata, opts: Partial<CallOptions>, cb: UnaryCallback<infer Res>) => ClientUnaryCall
  ? { req: Req; res: Res }
  : never;
type UnaryKeys<C> = { [K in keyof C]: UnaryMethodOf<C[K]> extends never ? never : K }[keyof C];

/**
 * Calls unary method `method` of a ts-proto client and resolves with the response;
 * rejects with the grpc-js ServiceError (code, details).
 * Example: `await unary(client, 'status', agent.StatusRequest.create(), { deadline: 5000 })`.
 */
export function unary<C, K extends UnaryKeys<C>>(
  client: C,
  method: K,
  request: UnaryMethodOf<C[K]>['req'],
  options: UnaryOptions = {},
): Promise<UnaryMethodOf<C[K]>['res']> {
  const fn = client[method] as unknown as (req: unknown, md: Metadata, opts: Partial<CallOptions>, cb: UnaryCallback<unknown>) => ClientUnaryCall;
  const callOptions: Partial<CallOptions> = { ...options.callOptions };
  if (options.deadline !== undefined) {
    callOptions.deadline = typeof options.deadline === 'number' ? new Date(Date.now() + options.deadline) : options.deadline;
  }
  return new Promise((resolve, reject) => {
    fn.call(client, request, outgoingMetadata(options.metadata), callOptions, (err, res) => {
      if (err) reject(err);
      else resolve(res as UnaryMethodOf<C[K]>['res']);
    });
  });
}

/** Reads a server stream to its end and resolves with every message. */
export function readAll<T>(stream: ClientReadableStream<T>): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const out: T[] = [];
    stream.on('data', (m: T) => out.push(m));
    stream.on('error', reject);
    stream.on('end', () => resolve(out));
  });
}
