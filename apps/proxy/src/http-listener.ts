// One HTTP proxy listener: a connection starting with the HTTP/2 preface goes to the
// h2c side (h2c-sessions.ts); any other is HTTP/1.1 through Node's strict HTTP parser
// (llhttp, insecureHTTPParser off), every request checked against the L7 policy of its
// connection, allowed ones forwarded on one keep-alive upstream connection per downstream
// connection, denied ones answered `403 Forbidden` / `Access denied` on a connection that
// stays usable. Malformed requests get 400 and the connection is closed.
import http from 'node:http';
import net from 'node:net';
import type { Logger } from '@cilium-ts/process';
import { sniffPreface } from './h2c-preface.js';
import { H2cSessions } from './h2c-sessions.js';
import { ACCESS_DENIED, HOP_BY_HOP, requestAllowed } from './http-verdict.js';
import type { AccessRecord, ContextResolver, ConnectionContext, HttpListenerCounters } from './connection-context.js';

export type { AccessRecord, ConnectionContext, ContextResolver, HttpListenerCounters } from './connection-context.js';

/** Options of HttpListener. */
export interface HttpListenerOptions {
  /** Listener port (the proxy port, 10001 ingress http / 10002 egress http). */
  port: number;
  /** Bind address; default 127.0.0.1 (use 0.0.0.0 / :: with transparent). */
  host?: string;
  /** Called after listen to make the socket transparent (TPROXY). */
  onListening?: (server: net.Server) => void;
  resolve: ContextResolver;
  /** Opens the upstream connection (default: plain net.connect to context.upstream). */
  connectUpstream?: (ctx: ConnectionContext) => net.Socket;
  onRecord?: (r: AccessRecord) => void;
  logger: Logger;
  /** Largest request head in bytes (default 16 KiB); larger ones get 400. */
  maxHeaderSize?: number;
}


function forwardHeaders(raw: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) if (!HOP_BY_HOP.has(raw[i]!.toLowerCase())) out.push([raw[i]!, raw[i + 1]!]);
  return out;
}

/** An HTTP/1.1 enforcing listener. */
export class HttpListener {
  readonly counters: HttpListenerCounters = { forwarded: 0, denied: 0, rejected: 0 };
  private readonly front: net.Server;
  private readonly server: http.Server;
  private readonly h2: H2cSessions;
  private readonly agents = new WeakMap<net.Socket, http.Agent>();

  constructor(private readonly opts: HttpListenerOptions) {
    this.server = http.createServer({
      insecureHTTPParser: false,
      maxHeaderSize: opts.maxHeaderSize ?? 16 * 1024,
      requireHostHeader: false,
      joinDuplicateHeaders: false,
      keepAliveTimeout: 60_000,
    });
    this.server.on('request', (req, res) => this.onRequest(req, res));
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => this.onClientError(err, socket));
    this.server.on('connection', (socket: net.Socket) => {
      socket.on('close', () => {
        this.agents.get(socket)?.destroy();
        this.agents.delete(socket);
      });
    });
    this.h2 = new H2cSessions({ resolve: opts.resolve, connectUpstream: opts.connectUpstream, onRecord: opts.onRecord, logger: opts.logger, counters: this.counters, maxHeaderListSize: opts.maxHeaderSize });
    // The listening socket: each connection goes to HTTP/2 or HTTP/1.1 by its first bytes.
    // noDelay as http.Server sets it: a head and body written apart must not wait for an ACK.
    this.front = net.createServer({ noDelay: true }, (socket) => this.onConnection(socket));
    // Upgrades (WebSocket, h2c by Upgrade) are not parsed by this listener: refuse them.
    this.server.on('upgrade', (_req, socket: net.Socket) => {
      this.counters.rejected++;
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 28\r\n\r\nBad Request: upgrade refused');
    });
  }

  /** Starts listening; resolves with the bound port. */
  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.front.once('error', reject);
      this.front.listen(this.opts.port, this.opts.host ?? '127.0.0.1', () => {
        this.front.off('error', reject);
        resolve();
      });
    });
    this.opts.onListening?.(this.front);
    return (this.front.address() as net.AddressInfo).port;
  }

  /** The bound address (host:port). */
  address(): string {
    const a = this.front.address() as net.AddressInfo | null;
    return a ? (a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`) : '';
  }

  /** Stops accepting and closes every connection. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.front.close(() => resolve());
      for (const socket of this.sniffing) socket.destroy();
      this.server.closeAllConnections();
      this.h2.closeAll();
    });
  }

  private readonly sniffing = new Set<net.Socket>();

  private onConnection(socket: net.Socket): void {
    socket.on('error', () => undefined);
    this.sniffing.add(socket);
    void sniffPreface(socket).then((first) => {
      this.sniffing.delete(socket);
      if (!first) {
        socket.destroy();
      } else if (first.h2) {
        this.h2.accept(socket, first.head);
      } else {
        socket.unshift(first.head);
        this.server.emit('connection', socket);
        socket.resume();
      }
    });
  }

  private onClientError(err: NodeJS.ErrnoException, socket: net.Socket): void {
    this.counters.rejected++;
    const reason = err.code === 'HPE_HEADER_OVERFLOW' ? 'header too large' : err.code === 'HPE_UNEXPECTED_CONTENT_LENGTH' ? 'conflicting Content-Length and Transfer-Encoding' : (err.code ?? 'malformed request');
    this.opts.logger.debug('malformed request refused', { code: err.code, reason });
    if (socket.writable) {
      const body = `Bad Request: ${reason}`;
      socket.end(`HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    }
    socket.destroySoon();
  }

  private record(ctx: ConnectionContext, req: http.IncomingMessage, type: 'request' | 'response', verdict: AccessRecord['verdict'], code: number, headers: Array<[string, string]>, latencyNs: bigint): void {
    this.opts.onRecord?.({ time: new Date(), type, verdict, context: ctx, method: req.method ?? '', url: req.url ?? '', protocol: `HTTP/${req.httpVersion}`, code, headers, latencyNs });
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const started = process.hrtime.bigint();
    const ctx = this.opts.resolve(req.socket);
    if (!ctx) {
      // No policy for this connection (unknown endpoint or port): fail closed.
      this.counters.denied++;
      req.socket.destroy();
      return;
    }
    const reqHeaders = forwardHeaders(req.rawHeaders);
    if (!requestAllowed(ctx, { method: req.method ?? '', path: req.url ?? '', host: req.headers.host, headers: reqHeaders })) {
      this.counters.denied++;
      this.record(ctx, req, 'request', 'denied', 0, reqHeaders, 0n);
      res.writeHead(403, { 'Content-Type': 'text/plain', 'Content-Length': ACCESS_DENIED.length });
      res.end(ACCESS_DENIED);
      this.record(ctx, req, 'response', 'denied', 403, [], process.hrtime.bigint() - started);
      return;
    }
    this.counters.forwarded++;
    this.record(ctx, req, 'request', 'forwarded', 0, reqHeaders, 0n);
    const upstream = http.request({
      host: ctx.upstream.address,
      port: ctx.upstream.port,
      method: req.method,
      path: req.url,
      headers: reqHeaders.flat(),
      setHost: false,
      agent: this.agentFor(req.socket, ctx),
    });
    upstream.on('response', (ures) => {
      const resHeaders = forwardHeaders(ures.rawHeaders);
      res.writeHead(ures.statusCode ?? 502, ures.statusMessage, resHeaders.flat());
      ures.pipe(res);
      this.record(ctx, req, 'response', 'forwarded', ures.statusCode ?? 0, resHeaders, process.hrtime.bigint() - started);
    });
    upstream.on('error', (err) => {
      this.opts.logger.debug('upstream failed', { error: err.message, upstream: `${ctx.upstream.address}:${ctx.upstream.port}` });
      this.record(ctx, req, 'response', 'error', 503, [], process.hrtime.bigint() - started);
      if (!res.headersSent) {
        res.writeHead(503, { 'Content-Type': 'text/plain', 'Content-Length': 19, Connection: 'close' });
        res.end('upstream unavailable');
      } else {
        res.destroy();
      }
    });
    req.pipe(upstream);
  }

  /** One keep-alive upstream connection per downstream connection (so requests keep their order and identity). */
  private agentFor(socket: net.Socket, ctx: ConnectionContext): http.Agent {
    let agent = this.agents.get(socket);
    if (!agent) {
      agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const connect = this.opts.connectUpstream;
      if (connect) (agent as unknown as { createConnection: () => net.Socket }).createConnection = () => connect(ctx);
      this.agents.set(socket, agent);
    }
    return agent;
  }
}
