// HTTP/2 with prior knowledge (h2c) on the HTTP listeners: node:http2 (nghttp2, the HTTP/2
// library curl and Node ship, which validates frames and headers and answers protocol
// errors with RST_STREAM / GOAWAY) on both sides. Every stream is checked against the
// L7 policy of its connection (method = :method, path = :path, host = :authority,
// headers) when its headers arrive: a denied stream gets 403 `Access denied`, or for
// gRPC (`content-type: application/grpc*`) HTTP 200 with `grpc-status: 7`
// (PERMISSION_DENIED) as Envoy's RBAC filter answers; the connection's other streams go
// on. Allowed streams are forwarded, trailers included, on one upstream HTTP/2 session
// per downstream session (created with the first allowed stream).
import http2 from 'node:http2';
import net from 'node:net';
import type { Logger } from '@cilium-ts/process';
import type { AccessRecord, ConnectionContext, ContextResolver, HttpListenerCounters } from './connection-context.js';
import { replayDuplex } from './h2c-preface.js';
import { ACCESS_DENIED, HOP_BY_HOP, requestAllowed } from './http-verdict.js';

/** The grpc-message of a denied gRPC call (Envoy's RBAC filter sends the same). */
export const GRPC_DENIED_MESSAGE = 'RBAC: access denied';
/** gRPC status PERMISSION_DENIED. */
export const GRPC_PERMISSION_DENIED = 7;
/** gRPC status UNAVAILABLE (the upstream failed). */
const GRPC_UNAVAILABLE = 14;

const { NGHTTP2_CANCEL, NGHTTP2_INTERNAL_ERROR, NGHTTP2_REFUSED_STREAM } = http2.constants;

/** Options of H2cSessions. */
export interface H2cSessionsOptions {
  resolve: ContextResolver;
  connectUpstream?: (ctx: ConnectionContext) => net.Socket;
  onRecord?: (r: AccessRecord) => void;
  logger: Logger;
  /** Counters shared with the HTTP/1.1 side of the listener. */
  counters: HttpListenerCounters;
  /** Largest header list accepted (bytes, SETTINGS_MAX_HEADER_LIST_SIZE); default 16 KiB. */
  maxHeaderListSize?: number;
}

interface SessionState {
  /** The downstream TCP socket (its addresses are the redirected connection's). */
  socket: net.Socket;
  upstream: http2.ClientHttp2Session | undefined;
}

function isPseudo(name: string): boolean {
  return name.startsWith(':');
}

/** Non-pseudo, non-hop-by-hop headers of a raw header list (name, value, name, value...). */
function forwardable(raw: readonly string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    if (!isPseudo(name) && !HOP_BY_HOP.has(name.toLowerCase())) out.push([name, raw[i + 1]!]);
  }
  return out;
}

/** An outgoing header object from pseudo headers and a list of forwardable ones. */
function headerObject(pseudo: Record<string, string | number>, list: ReadonlyArray<readonly [string, string]>): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = { ...pseudo };
  for (const [k, v] of list) {
    const key = k.toLowerCase();
    const prev = out[key];
    out[key] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [String(prev), v];
  }
  return out;
}

/** Response headers of an incoming header object, pseudo and hop-by-hop ones dropped. */
function responseHeaders(h: http2.IncomingHttpHeaders): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(h)) {
    if (isPseudo(k) || HOP_BY_HOP.has(k) || v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) out.push([k, String(one)]);
  }
  return out;
}

/** The HTTP/2 side of an HTTP listener. */
export class H2cSessions {
  private readonly server: http2.Http2Server;
  private readonly sessions = new Map<http2.ServerHttp2Session, SessionState>();
  private accepting: net.Socket | undefined;

  constructor(private readonly opts: H2cSessionsOptions) {
    this.server = http2.createServer({ settings: { maxHeaderListSize: opts.maxHeaderListSize ?? 16 * 1024, enablePush: false } });
    this.server.on('session', (session: http2.ServerHttp2Session) => this.onSession(session));
    this.server.on('sessionError', (err: Error) => this.opts.logger.debug('h2c session error', { error: err.message }));
    this.server.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, flags: number, rawHeaders: string[]) => this.onStream(stream, headers, flags, rawHeaders));
  }

  /** Takes over a connection whose first bytes `head` were the HTTP/2 preface. */
  accept(socket: net.Socket, head: Buffer): void {
    this.accepting = socket;
    try {
      this.server.emit('connection', replayDuplex(socket, head));
    } finally {
      this.accepting = undefined;
    }
  }

  /** Closes every session (downstream and upstream). */
  closeAll(): void {
    for (const [session, state] of this.sessions) {
      state.upstream?.destroy();
      session.destroy();
      state.socket.destroy();
    }
    this.sessions.clear();
  }

  private onSession(session: http2.ServerHttp2Session): void {
    const socket = this.accepting;
    if (!socket) {
      session.destroy();
      return;
    }
    const state: SessionState = { socket, upstream: undefined };
    this.sessions.set(session, state);
    session.on('error', (err: Error) => this.opts.logger.debug('h2c session failed', { error: err.message }));
    session.on('close', () => {
      this.sessions.delete(session);
      state.upstream?.close();
      state.upstream = undefined;
      socket.destroy();
    });
  }

  private record(ctx: ConnectionContext, method: string, url: string, type: AccessRecord['type'], verdict: AccessRecord['verdict'], code: number, headers: Array<[string, string]>, latencyNs: bigint): void {
    this.opts.onRecord?.({ time: new Date(), type, verdict, context: ctx, method, url, protocol: 'HTTP/2', code, headers, latencyNs });
  }

  private onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, flags: number, rawHeaders: string[]): void {
    const started = process.hrtime.bigint();
    stream.on('error', () => undefined);
    const state = this.sessions.get(stream.session as http2.ServerHttp2Session);
    const ctx = state ? this.opts.resolve(state.socket) : undefined;
    if (!state || !ctx) {
      // No policy for this connection (unknown endpoint or port): fail closed.
      this.opts.counters.denied++;
      stream.session?.destroy();
      return;
    }
    const method = String(headers[':method'] ?? '');
    const path = headers[':path'];
    if (path === undefined || method === 'CONNECT') {
      // CONNECT (a tunnel, RFC 9113 section 8.5) carries no request the rules could check.
      this.opts.counters.rejected++;
      stream.close(NGHTTP2_REFUSED_STREAM);
      return;
    }
    const authority = headers[':authority'] ?? headers.host;
    const reqHeaders = forwardable(rawHeaders);
    const grpc = String(headers['content-type'] ?? '').startsWith('application/grpc');
    if (!requestAllowed(ctx, { method, path, host: authority, headers: reqHeaders })) {
      this.opts.counters.denied++;
      this.record(ctx, method, path, 'request', 'denied', 0, reqHeaders, 0n);
      if (grpc) {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(GRPC_PERMISSION_DENIED), 'grpc-message': GRPC_DENIED_MESSAGE }, { endStream: true });
      } else {
        stream.respond({ ':status': 403, 'content-type': 'text/plain', 'content-length': ACCESS_DENIED.length });
        stream.end(ACCESS_DENIED);
      }
      // The request body (if any) is not wanted.
      stream.resume();
      this.record(ctx, method, path, 'response', 'denied', grpc ? 200 : 403, [], process.hrtime.bigint() - started);
      return;
    }
    this.opts.counters.forwarded++;
    this.record(ctx, method, path, 'request', 'forwarded', 0, reqHeaders, 0n);
    this.forward(state, ctx, stream, { method, path, authority, scheme: String(headers[':scheme'] ?? 'http') }, reqHeaders, (flags & 0x1) !== 0, grpc, started);
  }

  private upstreamFor(state: SessionState, ctx: ConnectionContext): http2.ClientHttp2Session {
    if (state.upstream && !state.upstream.closed && !state.upstream.destroyed) return state.upstream;
    const host = net.isIP(ctx.upstream.address) === 6 ? `[${ctx.upstream.address}]` : ctx.upstream.address;
    const connect = this.opts.connectUpstream;
    const session = http2.connect(`http://${host}:${ctx.upstream.port}`, {
      settings: { enablePush: false },
      ...(connect ? { createConnection: () => connect(ctx) } : {}),
    });
    session.on('error', (err: Error) => this.opts.logger.debug('h2c upstream failed', { error: err.message, upstream: `${host}:${ctx.upstream.port}` }));
    state.upstream = session;
    return session;
  }

  private forward(state: SessionState, ctx: ConnectionContext, stream: http2.ServerHttp2Stream, req: { method: string; path: string; authority: string | undefined; scheme: string }, reqHeaders: Array<[string, string]>, endStream: boolean, grpc: boolean, started: bigint): void {
    const pseudo: Record<string, string> = { ':method': req.method, ':path': req.path, ':scheme': req.scheme };
    if (req.authority !== undefined) pseudo[':authority'] = req.authority;
    let upReq: http2.ClientHttp2Stream;
    try {
      upReq = this.upstreamFor(state, ctx).request(headerObject(pseudo, reqHeaders), { endStream });
    } catch (err) {
      this.upstreamFailed(ctx, stream, req, grpc, started, err as Error);
      return;
    }
    let trailers: http2.OutgoingHttpHeaders = {};
    upReq.on('trailers', (t: http2.IncomingHttpHeaders) => {
      trailers = headerObject({}, responseHeaders(t));
    });
    upReq.on('response', (h: http2.IncomingHttpHeaders, responseFlags: number) => {
      const status = Number(h[':status'] ?? 502);
      const resHeaders = responseHeaders(h);
      this.record(ctx, req.method, req.path, 'response', 'forwarded', status, resHeaders, process.hrtime.bigint() - started);
      if (stream.destroyed || stream.closed) return;
      if ((responseFlags & 0x1) !== 0) {
        // Trailers-only (a gRPC error) or an empty response: one HEADERS frame with END_STREAM.
        stream.respond(headerObject({ ':status': status }, resHeaders), { endStream: true });
        return;
      }
      stream.respond(headerObject({ ':status': status }, resHeaders), { waitForTrailers: true });
      stream.once('wantTrailers', () => stream.sendTrailers(trailers));
      upReq.pipe(stream);
    });
    upReq.on('error', (err: Error) => this.upstreamFailed(ctx, stream, req, grpc, started, err));
    upReq.on('close', () => {
      // The upstream reset the stream: reset ours with its code.
      if (upReq.rstCode !== undefined && upReq.rstCode !== 0 && !stream.closed) stream.close(upReq.rstCode);
    });
    stream.on('close', () => {
      if (!upReq.closed) upReq.close(stream.rstCode && stream.rstCode !== 0 ? stream.rstCode : NGHTTP2_CANCEL);
    });
    if (!endStream) stream.pipe(upReq);
  }

  private upstreamFailed(ctx: ConnectionContext, stream: http2.ServerHttp2Stream, req: { method: string; path: string }, grpc: boolean, started: bigint, err: Error): void {
    this.opts.logger.debug('h2c upstream stream failed', { error: err.message });
    this.record(ctx, req.method, req.path, 'response', 'error', 503, [], process.hrtime.bigint() - started);
    if (stream.destroyed || stream.closed) return;
    if (stream.headersSent) {
      stream.close(NGHTTP2_INTERNAL_ERROR);
    } else if (grpc) {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(GRPC_UNAVAILABLE), 'grpc-message': 'upstream unavailable' }, { endStream: true });
    } else {
      stream.respond({ ':status': 503, 'content-type': 'text/plain' });
      stream.end('upstream unavailable');
    }
  }
}
