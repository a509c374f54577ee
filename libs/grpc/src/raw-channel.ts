// One HTTP/2 connection to a gRPC server, shared by every raw call to it (RawClientStream):
// hubble-relay keeps one per hubble-server, so N clients following the cluster cost N
// streams on one connection per node, not N connections per node. The connection is opened
// on the first call, kept alive with HTTP/2 PINGs while calls are open, and opened again by
// the next call after it closed or failed.
import { connect, type ClientHttp2Session } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { parseAddress } from './listen-address.js';

/** TLS material of a raw call: the name the peer's certificate must match, CA and client certificate (PEM). */
export interface RawTlsOptions {
  /** Name to verify the peer's certificate against (and sent as SNI). */
  serverName: string;
  /** CA certificates (default: Node's root store). */
  ca?: Buffer;
  /** Client certificate chain for mutual TLS. */
  cert?: Buffer;
  /** Client private key for mutual TLS. */
  key?: Buffer;
}

/** Options of a raw channel. */
export interface RawChannelOptions {
  /** grpc-js style target: `unix:///path`, `host:port`, `[v6]:port`. */
  target: string;
  /** TLS toward the peer; plaintext when absent. */
  tls?: RawTlsOptions;
  /** HTTP/2 receive window of each call (default RAW_STREAM_WINDOW_BYTES; HTTP/2's own default is 65535). */
  windowBytes?: number;
  /**
   * Receive window of the whole connection (default: `windowBytes` × RAW_CHANNEL_PAUSED_CALLS):
   * a paused call holds at most its own window, so this many paused calls never stall the others.
   */
  connectionWindowBytes?: number;
  /** HTTP/2 PING interval while calls are open (default RAW_KEEPALIVE_MS; 0 disables); no answer within a third of it closes the connection. */
  keepaliveMs?: number;
}

/** Default keepalive interval of a raw channel (grpc-js's peer channels: 30 s, 10 s timeout). */
export const RAW_KEEPALIVE_MS = 30_000;

/**
 * Default HTTP/2 receive window of a call: how much a server may send ahead of the reading.
 * HTTP/2's default 64 KiB stalls a fast relay peer about every 200 flows.
 */
export const RAW_STREAM_WINDOW_BYTES = 1024 * 1024;

/** Paused calls a shared connection's window holds without stalling the other calls on it. */
export const RAW_CHANNEL_PAUSED_CALLS = 32;

/** Raised when a call is made on a channel that was closed for good. */
export class RawChannelClosedError extends Error {
  override readonly name = 'RawChannelClosedError';
  constructor(readonly target: string) {
    super(`the connection to ${target} was closed (the peer was removed)`);
  }
}

/** A shared HTTP/2 connection to one target (see the file comment). */
export class RawChannel {
  private current: ClientHttp2Session | undefined;
  /** The current connection got the peer's HTTP/2 SETTINGS (it speaks HTTP/2 and is up). */
  private settled = false;
  private closed = false;
  private opened = 0;
  private calls = 0;
  private keepalive: NodeJS.Timeout | undefined;
  private pinging = false;
  readonly windowBytes: number;

  constructor(readonly opts: RawChannelOptions) {
    this.windowBytes = opts.windowBytes ?? RAW_STREAM_WINDOW_BYTES;
  }

  /** How many connections this channel has opened so far (one as long as none failed). */
  get connections(): number {
    return this.opened;
  }

  /** The live connection, opened now when there is none or the last one closed or failed. */
  session(): ClientHttp2Session {
    if (this.closed) throw new RawChannelClosedError(this.opts.target);
    const s = this.current;
    if (s !== undefined && !s.closed && !s.destroyed) return s;
    this.current = this.open();
    return this.current;
  }

  /**
   * connect opens the connection when there is none and resolves with it once the peer has sent
   * its HTTP/2 SETTINGS (when grpc-js calls a channel READY); it rejects when the connection
   * fails or closes first, or after `timeoutMs` (the half-open connection is then destroyed).
   */
  connect(timeoutMs: number): Promise<ClientHttp2Session> {
    let s: ClientHttp2Session;
    try {
      s = this.session();
    } catch (err) {
      return Promise.reject(err as Error);
    }
    if (this.settled) return Promise.resolve(s);
    return new Promise<ClientHttp2Session>((resolve, reject) => {
      const done = (err: Error | undefined): void => {
        clearTimeout(timer);
        s.off('remoteSettings', onSettings);
        s.off('error', onError);
        s.off('close', onClose);
        if (err === undefined) resolve(s);
        else reject(err);
      };
      const onSettings = (): void => done(undefined);
      const onError = (err: Error): void => done(new Error(`cannot connect to ${this.opts.target}: ${err.message}`));
      const onClose = (): void => done(new Error(`cannot connect to ${this.opts.target}: the connection closed`));
      const timer = setTimeout(() => {
        done(new Error(`cannot connect to ${this.opts.target} within ${timeoutMs} ms`));
        if (this.current === s && !this.settled) s.destroy();
      }, timeoutMs);
      s.once('remoteSettings', onSettings);
      s.once('error', onError);
      s.once('close', onClose);
    });
  }

  /** A call started on the connection (keeps the keepalive running while any is open). */
  callStarted(): void {
    this.calls++;
    this.startKeepalive();
  }

  /** A call on the connection ended; a private channel (RawClientStream without one) is closed by its call. */
  callEnded(): void {
    this.calls = Math.max(0, this.calls - 1);
    if (this.calls === 0) this.stopKeepalive();
  }

  /** Closes the connection for good: open calls end as UNAVAILABLE, later calls fail with RawChannelClosedError. */
  close(): void {
    this.closed = true;
    this.stopKeepalive();
    this.current?.destroy(new RawChannelClosedError(this.opts.target));
    this.current = undefined;
  }

  /** Closes the connection for good once its calls have ended (HTTP/2 GOAWAY; a call's own connection). */
  closeWhenIdle(): void {
    this.closed = true;
    this.stopKeepalive();
    this.current?.close();
    this.current = undefined;
  }

  private open(): ClientHttp2Session {
    const { target, tls } = this.opts;
    const parsed = parseAddress(target);
    const settings = { initialWindowSize: this.windowBytes };
    let session: ClientHttp2Session;
    if (tls !== undefined) {
      const where = parsed.kind === 'unix' ? { path: parsed.path } : { host: parsed.host.replace(/^\[(.*)\]$/, '$1'), port: parsed.port };
      session = connect(`https://${tls.serverName}`, {
        settings,
        createConnection: () => tlsConnect({ ...where, servername: tls.serverName, ca: tls.ca, cert: tls.cert, key: tls.key, ALPNProtocols: ['h2'] }),
      });
    } else {
      session =
        parsed.kind === 'unix'
          ? connect('http://localhost', { settings, createConnection: () => netConnect(parsed.path) })
          : connect(`http://${parsed.host}:${parsed.port}`, { settings });
    }
    this.opened++;
    this.settled = false;
    session.once('remoteSettings', () => {
      if (this.current === session) this.settled = true;
    });
    // Every call on the connection listens for its errors.
    session.setMaxListeners(0);
    // Errors reach the calls through their own listeners; this one keeps an error with no
    // call open (e.g. after the last one ended) from being an uncaught exception.
    session.on('error', () => undefined);
    const connWindow = this.opts.connectionWindowBytes ?? this.windowBytes * RAW_CHANNEL_PAUSED_CALLS;
    session.once('connect', () => {
      if (connWindow <= 65535) return;
      try {
        session.setLocalWindowSize(connWindow);
      } catch {
        // Only a larger window is lost; the calls work with the default one.
      }
    });
    return session;
  }

  // Keepalive, as grpc-js's channel to the peer does: a peer that stops answering HTTP/2 PINGs
  // (host gone, network cut) has its connection destroyed, which ends the calls on it.
  private startKeepalive(): void {
    const keepaliveMs = this.opts.keepaliveMs ?? RAW_KEEPALIVE_MS;
    if (keepaliveMs <= 0 || this.keepalive !== undefined) return;
    this.keepalive = setInterval(() => {
      const s = this.current;
      if (this.pinging || s === undefined || s.closed || s.destroyed) return;
      this.pinging = true;
      const timeout = setTimeout(() => {
        this.pinging = false;
        s.destroy(new Error(`keepalive: ${this.opts.target} did not answer a ping within ${keepaliveMs / 3} ms`));
      }, keepaliveMs / 3);
      timeout.unref();
      try {
        s.ping(() => {
          this.pinging = false;
          clearTimeout(timeout);
        });
      } catch {
        clearTimeout(timeout);
        this.pinging = false;
      }
    }, keepaliveMs);
    this.keepalive.unref();
  }

  private stopKeepalive(): void {
    if (this.keepalive !== undefined) clearInterval(this.keepalive);
    this.keepalive = undefined;
    this.pinging = false;
  }
}
