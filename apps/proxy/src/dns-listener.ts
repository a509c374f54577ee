// The DNS proxy listener of one proxy port, UDP and TCP: every query a pod sends to a
// DNS server under a `rules.dns` rule arrives here (TPROXY keeps the original
// destination), is decided by dnsVerdict, and is either forwarded to that original
// destination (on an upstream marked with the pod's identity) with the server's answer
// relayed back, or answered by the proxy (REFUSED / FORMERR). UDP answers leave from the
// original destination's address (transparent), so the pod's resolver sees no change.
import dgram from 'node:dgram';
import net from 'node:net';
import type { Logger } from '@cilium-ts/process';
import { DnsFormatError, dnsErrorResponse, parseDnsMessage, Rcode, type DnsMessage } from './dns-message.js';
import type { DnsLearned, DnsLearnResult } from './dns-mapping-channel.js';
import { dnsVerdict } from './dns-verdict.js';
import type { ConnectionContext } from './http-listener.js';
import { normalizeAddress } from './policy-table.js';
import { setSocketMark, markedSocket } from './socket-options.js';
import { sendTransparent, TransparentUdpListener, type TransparentDatagram, type UdpAddress } from './transparent-udp.js';

/** Resolves traffic from `source` to its original `destination` to its context (undefined: no policy). */
export type DnsContextResolver = (destination: UdpAddress, source: UdpAddress) => ConnectionContext | undefined;

/** One DNS access record: a query (request) or the answer the pod got (response). */
export interface DnsAccessRecord {
  time: Date;
  type: 'request' | 'response';
  verdict: 'forwarded' | 'denied' | 'error';
  /** Undefined when the message came on a port without policy. */
  context: ConnectionContext | undefined;
  source: UdpAddress;
  destination: UdpAddress;
  protocol: 'udp' | 'tcp';
  /** The parsed message (query, or the server's answer); undefined when malformed. */
  message: DnsMessage | undefined;
  rcode: number;
  latencyNs: bigint;
}

/** Options of DnsListener. */
export interface DnsListenerOptions {
  /** The proxy port (10004 egress dns). */
  port: number;
  /** Hosts the UDP sockets bind (one per family; the TPROXY targets). */
  udpHosts: readonly string[];
  /** Host the TCP listener binds. */
  tcpHost: string;
  /** IP_TRANSPARENT on the sockets (TPROXY), default true. */
  transparent?: boolean;
  /** Called after the TCP listener listens (make it transparent). */
  onListening?: (server: net.Server) => void;
  resolve: DnsContextResolver;
  /** Mark upstream sockets with the source identity (SO_MARK), default true. */
  markUpstream?: boolean;
  /** How long to wait for the upstream server's answer before SERVFAIL (default 5 s, as a resolver's retry). */
  upstreamTimeoutMs?: number;
  onRecord?: (r: DnsAccessRecord) => void;
  /**
   * toFQDNs: called with every allowed NOERROR answer that carries A / AAAA addresses
   * before it is relayed; the answer reaches the pod only when it resolves ok (SERVFAIL
   * otherwise). Undefined: answers are relayed as they come.
   */
  learn?: (m: DnsLearned) => Promise<DnsLearnResult>;
  logger: Logger;
}

/** Counters of the DNS listener. */
export interface DnsCounters {
  forwarded: number;
  denied: number;
  rejected: number;
}

/** See the file comment. */
export class DnsListener {
  readonly counters: DnsCounters = { forwarded: 0, denied: 0, rejected: 0 };
  private udp: TransparentUdpListener | undefined;
  private readonly tcp: net.Server;
  private readonly upstreams = new Set<dgram.Socket>();
  private readonly connections = new Set<net.Socket>();

  constructor(private readonly opts: DnsListenerOptions) {
    this.tcp = net.createServer((s) => this.onConnection(s));
  }

  /** Binds the UDP sockets and the TCP listener. */
  async listen(): Promise<void> {
    this.udp = new TransparentUdpListener(this.opts.udpHosts, this.opts.port, (d) => this.onDatagram(d), this.opts.transparent !== false);
    await new Promise<void>((resolve, reject) => {
      this.tcp.once('error', reject);
      this.tcp.listen(this.opts.port, this.opts.tcpHost, () => {
        this.tcp.off('error', reject);
        resolve();
      });
    });
    this.opts.onListening?.(this.tcp);
  }

  /** The bound addresses, for Status. */
  address(): string {
    const a = this.tcp.address();
    return a && typeof a === 'object' ? `${a.address}:${a.port} (udp, tcp)` : '';
  }

  /** Closes the sockets, the connections and pending upstreams. */
  async close(): Promise<void> {
    for (const s of this.upstreams) s.close();
    for (const c of this.connections) c.destroy();
    await this.udp?.close();
    await new Promise<void>((resolve) => this.tcp.close(() => resolve()));
  }

  private record(r: Omit<DnsAccessRecord, 'time'>): void {
    this.opts.onRecord?.({ time: new Date(), ...r });
  }

  private onDatagram(d: TransparentDatagram): void {
    const started = process.hrtime.bigint();
    const ctx = this.opts.resolve(d.destination, d.source);
    const v = dnsVerdict(ctx, d.payload);
    const base = { context: ctx, source: d.source, destination: d.destination, protocol: 'udp' as const };
    if (v.action === 'answer') {
      this.count(v.rcode);
      this.record({ ...base, type: 'request', verdict: v.rcode === Rcode.REFUSED ? 'denied' : 'error', message: v.query, rcode: v.rcode, latencyNs: 0n });
      this.opts.logger.debug('DNS query answered by the proxy', { source: `${d.source.address}:${d.source.port}`, rcode: v.rcode, reason: v.reason });
      if (v.response) this.reply(d, v.response);
      return;
    }
    this.counters.forwarded++;
    this.record({ ...base, type: 'request', verdict: 'forwarded', message: v.query, rcode: 0, latencyNs: 0n });
    const up = dgram.createSocket(net.isIP(d.destination.address) === 6 ? 'udp6' : 'udp4');
    this.upstreams.add(up);
    const done = (upstreamAnswer: Buffer | undefined, why?: string): void => {
      clearTimeout(timer);
      if (!this.upstreams.delete(up)) return;
      up.close();
      if (why) this.opts.logger.warn('DNS upstream failed; answering SERVFAIL', { server: `${d.destination.address}:${d.destination.port}`, error: why });
      void this.release(ctx, d.destination, d.payload, upstreamAnswer).then(({ answer, response, parsed }) => {
        this.record({ ...base, type: 'response', verdict: answer ? 'forwarded' : 'error', message: parsed, rcode: parsed?.rcode ?? Rcode.SERVFAIL, latencyNs: process.hrtime.bigint() - started });
        this.reply(d, response);
      });
    };
    const timer = setTimeout(() => done(undefined, 'no answer in time'), this.opts.upstreamTimeoutMs ?? 5000);
    up.on('error', (err) => done(undefined, err.message));
    up.on('message', (msg, rinfo) => {
      // Only the server's answer to this query (same id) is relayed.
      if (rinfo.port !== d.destination.port || normalizeAddress(rinfo.address) !== normalizeAddress(d.destination.address) || msg.length < 2 || msg.readUInt16BE(0) !== v.query.id) return;
      done(msg);
    });
    up.bind(0, () => {
      try {
        if (this.opts.markUpstream !== false && ctx?.upstream.mark !== undefined) setSocketMark(udpFd(up), ctx.upstream.mark);
        up.send(d.payload, d.destination.port, d.destination.address);
      } catch (err) {
        done(undefined, (err as Error).message);
      }
    });
  }

  /**
   * What the pod gets for `query` given the server's `answer` (undefined: none came): the
   * answer itself, once the agent has its addresses when it carries any (toFQDNs), else SERVFAIL.
   */
  private async release(ctx: ConnectionContext | undefined, server: UdpAddress, query: Buffer, answer: Buffer | undefined): Promise<{ answer: Buffer | undefined; response: Buffer; parsed: DnsMessage | undefined }> {
    const servfail = (): { answer: undefined; response: Buffer; parsed: DnsMessage | undefined } => {
      const response = dnsErrorResponse(query, Rcode.SERVFAIL)!;
      return { answer: undefined, response, parsed: tryParse(response) };
    };
    if (!answer) return servfail();
    const parsed = tryParse(answer);
    const addresses = (parsed?.answers ?? []).filter((a) => a.ip !== undefined);
    if (this.opts.learn && ctx && parsed && parsed.rcode === Rcode.NOERROR && addresses.length > 0) {
      const learned = {
        endpointId: ctx.endpointId,
        name: parsed.questions[0]?.name ?? '',
        ips: [...new Set(addresses.map((a) => a.ip!))],
        ttl: Math.min(...addresses.map((a) => a.ttl)),
        server: { address: normalizeAddress(server.address), port: server.port },
      };
      const r = await this.opts.learn(learned);
      if (!r.ok) {
        this.opts.logger.warn('DNS answer not released: its addresses are not in the policy; answering SERVFAIL', { endpoint: ctx.endpointId, name: learned.name, error: r.reason });
        return servfail();
      }
    }
    return { answer, response: answer, parsed };
  }

  private reply(d: TransparentDatagram, payload: Buffer): void {
    try {
      sendTransparent(d.destination, d.source, payload);
    } catch (err) {
      this.opts.logger.warn('DNS answer could not be sent', { to: `${d.source.address}:${d.source.port}`, error: (err as Error).message });
    }
  }

  private count(rcode: number): void {
    if (rcode === Rcode.REFUSED) this.counters.denied++;
    else this.counters.rejected++;
  }

  /** DNS over TCP: 2-byte length-prefixed messages, answered in order, one at a time. */
  private onConnection(socket: net.Socket): void {
    const destination = { address: socket.localAddress ?? '', port: socket.localPort ?? 0 };
    const source = { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
    const ctx = this.opts.resolve(destination, source);
    if (!ctx) {
      // No policy for this endpoint and port: close (fail closed), as the HTTP listener does.
      socket.destroy();
      return;
    }
    this.connections.add(socket);
    socket.on('error', () => undefined);
    let upstream: net.Socket | undefined;
    let upBuf = Buffer.alloc(0);
    let waiting: ((answer: Buffer | undefined) => void) | undefined;
    const openUpstream = (): net.Socket => {
      const family = net.isIP(ctx.upstream.address) === 6 ? 6 : 4;
      const up = this.opts.markUpstream === false ? new net.Socket() : markedSocket(family, ctx.upstream.mark ?? 0);
      up.connect(ctx.upstream.port, ctx.upstream.address);
      up.on('data', (chunk: Buffer) => {
        upBuf = Buffer.concat([upBuf, chunk]);
        while (upBuf.length >= 2 && upBuf.length >= 2 + upBuf.readUInt16BE(0)) {
          const msg = upBuf.subarray(2, 2 + upBuf.readUInt16BE(0));
          upBuf = upBuf.subarray(2 + msg.length);
          const w = waiting;
          waiting = undefined;
          w?.(Buffer.from(msg));
        }
      });
      const gone = (): void => {
        upstream = undefined;
        upBuf = Buffer.alloc(0);
        const w = waiting;
        waiting = undefined;
        w?.(undefined);
      };
      up.on('error', gone);
      up.on('close', gone);
      return up;
    };
    let buf = Buffer.alloc(0);
    let busy = false;
    const frame = (m: Buffer): Buffer => Buffer.concat([Buffer.from([m.length >> 8, m.length & 0xff]), m]);
    const next = async (): Promise<void> => {
      if (busy) return;
      busy = true;
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0) && !socket.destroyed) {
        const len = buf.readUInt16BE(0);
        const payload = Buffer.from(buf.subarray(2, 2 + len));
        buf = buf.subarray(2 + len);
        const started = process.hrtime.bigint();
        const v = dnsVerdict(ctx, payload);
        const base = { context: ctx, source, destination, protocol: 'tcp' as const };
        if (v.action === 'answer') {
          this.count(v.rcode);
          this.record({ ...base, type: 'request', verdict: v.rcode === Rcode.REFUSED ? 'denied' : 'error', message: v.query, rcode: v.rcode, latencyNs: 0n });
          if (v.response) socket.write(frame(v.response));
          else socket.destroy();
          continue;
        }
        this.counters.forwarded++;
        this.record({ ...base, type: 'request', verdict: 'forwarded', message: v.query, rcode: 0, latencyNs: 0n });
        const answer = await new Promise<Buffer | undefined>((resolve) => {
          const timer = setTimeout(() => {
            waiting = undefined;
            upstream?.destroy();
            resolve(undefined);
          }, this.opts.upstreamTimeoutMs ?? 5000);
          waiting = (a) => {
            clearTimeout(timer);
            resolve(a);
          };
          upstream ??= openUpstream();
          upstream.write(frame(payload));
        });
        const { answer: released, response, parsed } = await this.release(ctx, destination, payload, answer);
        this.record({ ...base, type: 'response', verdict: released ? 'forwarded' : 'error', message: parsed, rcode: parsed?.rcode ?? Rcode.SERVFAIL, latencyNs: process.hrtime.bigint() - started });
        if (!socket.destroyed) socket.write(frame(response));
      }
      busy = false;
    };
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      void next();
    });
    socket.on('close', () => {
      this.connections.delete(socket);
      upstream?.destroy();
    });
  }
}

function tryParse(msg: Buffer): DnsMessage | undefined {
  try {
    return parseDnsMessage(msg);
  } catch (err) {
    if (err instanceof DnsFormatError) return undefined;
    throw err;
  }
}

/** The file descriptor of a bound dgram socket (Node keeps its handle under a symbol; `_handle` is deprecated). */
function udpFd(s: dgram.Socket): number {
  const sym = Object.getOwnPropertySymbols(s).find((x) => x.description === 'state symbol');
  const fd = (sym ? (s as unknown as Record<symbol, { handle?: { fd?: number } }>)[sym]?.handle?.fd : undefined) ?? -1;
  if (fd < 0) throw new Error('the upstream UDP socket has no file descriptor');
  return fd;
}
