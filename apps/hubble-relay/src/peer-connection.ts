import { connectivityState, type ChannelCredentials, type ChannelOptions } from '@grpc/grpc-js';
import { observer } from '@cilium-ts/api';
import { RawChannel, type RawTlsOptions } from '@cilium-ts/grpc';
import { Backoff } from './backoff.js';
import { toDialTarget } from './peer-address.js';

/** PeerTLS is how a peer asked to be reached over TLS (peer.TLS); absent means plaintext. */
export interface PeerTLS {
  serverName: string;
}

/** PeerSpec is what the relay knows about one hubble-server. */
export interface PeerSpec {
  name: string;
  /** Address as announced (bare IP, ip:port, host:port, unix:///path) or empty. */
  address: string;
  tls?: PeerTLS;
}

/** ConnectionOptions configure dialling and reconnecting one peer. */
export interface ConnectionOptions {
  dialTimeoutMs: number;
  /** First reconnect delay. */
  backoffInitialMs: number;
  /** Longest reconnect delay. */
  backoffMaxMs: number;
  /** Credentials for a peer (TLS when the peer announced TLS). */
  credentials: (tls: PeerTLS | undefined) => ChannelCredentials;
}

/** PeerConnection owns one grpc-js Observer client to a peer and keeps it connected with backoff. */
export class PeerConnection {
  /** The grpc-js target dialled, or undefined when the peer has no usable address. */
  readonly target: string | undefined;
  /** Why the address could not be used, if it could not. */
  readonly addressError: string | undefined;
  private client: observer.ObserverClient | undefined;
  private raw: RawChannel | undefined;
  private ready = false;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly backoff: Backoff;

  constructor(
    readonly spec: PeerSpec,
    private readonly opts: ConnectionOptions,
    private readonly onChange: () => void,
  ) {
    this.backoff = new Backoff({ initialMs: opts.backoffInitialMs, maxMs: opts.backoffMaxMs });
    let target: string | undefined;
    let addressError: string | undefined;
    if (spec.address !== '') {
      try {
        target = toDialTarget(spec.address);
      } catch (err) {
        addressError = (err as Error).message;
      }
    } else {
      addressError = 'the peer announced no address';
    }
    this.target = target;
    this.addressError = addressError;
    if (target !== undefined) {
      const options: ChannelOptions = {
        'grpc.use_local_subchannel_pool': 1,
        'grpc.initial_reconnect_backoff_ms': Math.min(1000, opts.backoffInitialMs),
        'grpc.max_reconnect_backoff_ms': opts.backoffMaxMs,
        'grpc.max_receive_message_length': 16 * 1024 * 1024,
        'grpc.keepalive_time_ms': 30_000,
        'grpc.keepalive_timeout_ms': 10_000,
      };
      if (spec.tls?.serverName) options['grpc.ssl_target_name_override'] = spec.tls.serverName;
      this.client = new observer.ObserverClient(target, opts.credentials(spec.tls), options);
      this.connect();
    }
  }

  /** available reports whether the connection is up (upstream: not in TRANSIENT_FAILURE or SHUTDOWN). */
  get available(): boolean {
    return this.ready && !this.closed;
  }

  /** observer is the client to call, present as long as the peer has a usable address. */
  get observer(): observer.ObserverClient | undefined {
    return this.closed ? undefined : this.client;
  }

  /** address is the dial target as shown by GetNodes (`ip:port` or `unix:///path`). */
  get displayAddress(): string {
    if (this.target === undefined) return this.spec.address;
    return this.target;
  }

  /**
   * rawChannel is the one HTTP/2 connection that every raw GetFlows call to this peer shares
   * (opened with the first call; `tls` is the relay's PEM material with this peer's server name,
   * the same for every call); undefined when the peer has no usable address or was removed.
   */
  rawChannel(tls: RawTlsOptions | undefined): RawChannel | undefined {
    if (this.closed || this.target === undefined) return undefined;
    this.raw ??= new RawChannel({ target: this.target, tls });
    return this.raw;
  }

  /** close stops reconnecting and closes the client and the shared raw connection (open calls end UNAVAILABLE). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ready = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.raw?.close();
    this.client?.close();
  }

  private connect(): void {
    const client = this.client;
    if (this.closed || client === undefined) return;
    client.waitForReady(Date.now() + this.opts.dialTimeoutMs, (err) => {
      if (this.closed) return;
      if (err) {
        this.scheduleRetry();
        return;
      }
      this.backoff.reset();
      this.setReady(true);
      this.watch();
    });
  }

  private watch(): void {
    const client = this.client;
    if (this.closed || client === undefined) return;
    const channel = client.getChannel();
    const state = channel.getConnectivityState(false);
    if (state !== connectivityState.READY) {
      this.setReady(false);
      this.scheduleRetry();
      return;
    }
    channel.watchConnectivityState(state, Infinity, () => {
      if (this.closed) return;
      this.watch();
    });
  }

  private scheduleRetry(): void {
    if (this.closed) return;
    const delay = this.backoff.next();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connect();
    }, delay);
  }

  private setReady(ready: boolean): void {
    if (this.ready === ready) return;
    this.ready = ready;
    this.onChange();
  }
}
