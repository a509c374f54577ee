import { readFileSync } from 'node:fs';
import { connectivityState, credentials, type ChannelCredentials, type ChannelOptions, type Client } from '@grpc/grpc-js';
import { UsageError } from './args.js';

/** ConnectOptions are the global connection flags. */
export interface ConnectOptions {
  server: string;
  timeoutMs: number;
  tls: boolean;
  tlsAllowInsecure: boolean;
  tlsCaCertFiles: string[];
  tlsClientCertFile: string;
  tlsClientKeyFile: string;
  tlsServerName: string;
}

/** ConnectError says the CLI could not reach the server within --timeout. */
export class ConnectError extends Error {
  override readonly name = 'ConnectError';
  constructor(readonly target: string, readonly reason: string) {
    super(`failed to connect to '${target}': ${reason}`);
  }
}

/** Target is a resolved --server: the grpc-js address, credentials and channel options. */
export interface Target {
  /** The --server value as given (shown in messages). */
  display: string;
  address: string;
  credentials: ChannelCredentials;
  options: ChannelOptions;
}

/** resolveTarget turns --server and the TLS flags into a grpc-js target (`tls://` turns TLS on). */
export function resolveTarget(o: ConnectOptions): Target {
  let address = o.server.trim();
  let tls = o.tls;
  if (address.startsWith('tls://')) {
    tls = true;
    address = address.slice('tls://'.length);
  }
  if (address === '') throw new UsageError('--server is empty: give host:port, unix:///path or tls://host:port');
  const options: ChannelOptions = { 'grpc.use_local_subchannel_pool': 1, 'grpc.max_receive_message_length': 4 * 1024 * 1024 };
  if (!tls) {
    if (o.tlsClientCertFile || o.tlsClientKeyFile) throw new UsageError('--tls-client-cert-file and --tls-client-key-file need --tls');
    return { display: o.server, address, credentials: credentials.createInsecure(), options };
  }
  if (Boolean(o.tlsClientCertFile) !== Boolean(o.tlsClientKeyFile)) {
    throw new UsageError('--tls-client-cert-file and --tls-client-key-file must be given together');
  }
  const read = (file: string, what: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new UsageError(`cannot read ${what} ${file}: ${(err as Error).message}`);
    }
  };
  const ca = o.tlsCaCertFiles.length > 0 ? Buffer.concat(o.tlsCaCertFiles.map((f) => read(f, 'CA certificate file'))) : null;
  const key = o.tlsClientKeyFile ? read(o.tlsClientKeyFile, 'client key file') : null;
  const cert = o.tlsClientCertFile ? read(o.tlsClientCertFile, 'client certificate file') : null;
  const verify = o.tlsAllowInsecure ? { rejectUnauthorized: false, checkServerIdentity: () => undefined } : {};
  if (o.tlsServerName) {
    options['grpc.ssl_target_name_override'] = o.tlsServerName;
    options['grpc.default_authority'] = o.tlsServerName;
  }
  return { display: o.server, address, credentials: credentials.createSsl(ca, key, cert, verify), options };
}

/** dial waits until the client's channel is READY, failing fast when the connection fails (like a blocking grpc-go dial). */
export function dial(client: Client, target: Target, timeoutMs: number): Promise<void> {
  const channel = client.getChannel();
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const state = channel.getConnectivityState(true);
      if (state === connectivityState.READY) {
        resolve();
        return;
      }
      if (state === connectivityState.TRANSIENT_FAILURE || state === connectivityState.SHUTDOWN) {
        reject(new ConnectError(target.display, 'connection error: desc = "transport: error while dialing: the connection was refused or failed; is the server running there?"'));
        return;
      }
      channel.watchConnectivityState(state, deadline, (err) => {
        if (err) reject(new ConnectError(target.display, 'context deadline exceeded'));
        else check();
      });
    };
    check();
  });
}

/** parseTimeoutMs parses --timeout values such as 5s, 500ms or 1m. */
export function parseTimeoutMs(v: string, parse: (s: string) => bigint | undefined): number {
  const ns = parse(v);
  if (ns === undefined || ns < 0n) throw new UsageError(`invalid --timeout "${v}": use a duration such as 5s`);
  return Number(ns / 1_000_000n);
}
