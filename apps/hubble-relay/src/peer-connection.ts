import { connectivityState, type ChannelCredentials, type ChannelOptions } from '@grpc/grpc-js';
import { observer } from '@cilium-ts/api';
import { RawChannel } from '@cilium-ts/grpc';
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
  /** grpc-js credentials for a TLS peer when there is no `tlsMaterial` (the peer is then reached through grpc-js). */
  credentials: (tls: PeerTLS | undefined) => ChannelCredentials;
  /** PEM material for TLS peers on the raw connection (each peer's own server name is added). */
  tlsMaterial?: PeerTlsMaterial;
}

/** PEM material for raw TLS connections to peers that announced TLS. */
export interface PeerTlsMaterial {
  /** CA certificates (default: Node's root store). */
  ca?: Buffer;
  /** Client certificate chain for mutual TLS. */
  cert?: Buffer;
  /** Client private key for mutual TLS. */
  key?: Buffer;
}

/**
 * PeerConnection keeps ONE HTTP/2 connection to a peer, shared by every call the relay makes
 * to it (GetFlows streams, ServerStatus, GetNamespaces) and watched for availability, and keeps
 * it connected with backoff. Plaintext peers, and TLS peers when the relay has PEM material, are
 * reached through a RawChannel (libs/grpc); a TLS peer with only grpc-js credentials through
 * one grpc-js client, which then carries every call.
 */
export class PeerConnection {
  /** The dial target, or undefined when the peer has no usable address. */
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
    if (target === undefined) return;
    if (spec.tls === undefined || opts.tlsMaterial !== undefined) {
      const tls = spec.tls === undefined ? undefined : { ...opts.tlsMaterial, serverName: spec.tls.serverName };
      this.raw = new RawChannel({ target, tls });
      // Held for the connection's lifetime: the keepalive PINGs run even with no call open,
      // so a silent peer is found unavailable (as grpc-js's channel keepalive did).
      this.raw.callStarted();
      this.connectRaw();
      return;
    }
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
    this.connectGrpc();
  }

  /** available reports whether the connection is up (upstream: not in TRANSIENT_FAILURE or SHUTDOWN). */
  get available(): boolean {
    return this.ready && !this.closed;
  }

  /** observer is the grpc-js client of a peer reached through grpc-js (a TLS peer without PEM material); undefined otherwise. */
  get observer(): observer.ObserverClient | undefined {
    return this.closed ? undefined : this.client;
  }

  /** rawChannel is the peer's one HTTP/2 connection when it is reached raw; undefined otherwise or once removed. */
  get rawChannel(): RawChannel | undefined {
    return this.closed ? undefined : this.raw;
  }

  /** address is the dial target as shown by GetNodes (`ip:port` or `unix:///path`). */
  get displayAddress(): string {
    if (this.target === undefined) return this.spec.address;
    return this.target;
  }

  /** close stops reconnecting and closes the connection (open calls end UNAVAILABLE). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ready = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.raw?.close();
    this.client?.close();
  }

  private connectRaw(): void {
    const raw = this.raw;
    if (this.closed || raw === undefined) return;
    raw.connect(this.opts.dialTimeoutMs).then(
      (session) => {
        if (this.closed) return;
        if (session.closed || session.destroyed) {
          this.scheduleRetry(() => this.connectRaw());
          return;
        }
        this.backoff.reset();
        this.setReady(true);
        // The connection is lost when it closes, or as soon as the peer says it goes away.
        let lost = false;
        const onLost = (): void => {
          if (lost) return;
          lost = true;
          session.off('goaway', onLost);
          session.off('close', onLost);
          if (this.closed) return;
          this.setReady(false);
          this.scheduleRetry(() => this.connectRaw());
        };
        session.once('goaway', onLost);
        session.once('close', onLost);
      },
      () => {
        if (this.closed) return;
        this.setReady(false);
        this.scheduleRetry(() => this.connectRaw());
      },
    );
  }

  private connectGrpc(): void {
    const client = this.client;
    if (this.closed || client === undefined) return;
    client.waitForReady(Date.now() + this.opts.dialTimeoutMs, (err) => {
      if (this.closed) return;
      if (err) {
        this.scheduleRetry(() => this.connectGrpc());
        return;
      }
      this.backoff.reset();
      this.setReady(true);
      this.watchGrpc();
    });
  }

  private watchGrpc(): void {
    const client = this.client;
    if (this.closed || client === undefined) return;
    const channel = client.getChannel();
    const state = channel.getConnectivityState(false);
    if (state !== connectivityState.READY) {
      this.setReady(false);
      this.scheduleRetry(() => this.connectGrpc());
      return;
    }
    channel.watchConnectivityState(state, Infinity, () => {
      if (this.closed) return;
      this.watchGrpc();
    });
  }

  private scheduleRetry(connect: () => void): void {
    if (this.closed || this.retryTimer !== undefined) return;
    const delay = this.backoff.next();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      connect();
    }, delay);
  }

  private setReady(ready: boolean): void {
    if (this.ready === ready) return;
    this.ready = ready;
    this.onChange();
  }
}
