// The node's L7 proxy: the current PolicyTable, one HTTP listener per (direction) proxy
// port, the identity of peers from the datapath's ipcache, and the access-record feed.
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { fromProxyMark, WORLD_IDENTITY } from '@cilium-ts/bpf';
import type { Logger } from '@cilium-ts/process';
import { proxyPortFor, type Direction } from '@cilium-ts/policy';
import { DnsListener, type DnsAccessRecord } from './dns-listener.js';
import { DnsMappingChannel } from './dns-mapping-channel.js';
import { HttpListener, type AccessRecord, type ConnectionContext } from './http-listener.js';
import { normalizeAddress, PolicyTable } from './policy-table.js';
import { markedSocket } from './socket-options.js';

/** The peer identity of PolicyUpdate entries that apply to every peer without an entry of its own. */
export const ANY_PEER = 0;

/** The security identity of an address (the datapath's ipcache). */
export interface IdentitySource {
  identityOf(ip: string): number;
}

/** Options of L7Proxy. */
export interface L7ProxyOptions {
  identities: IdentitySource;
  logger: Logger;
  /** Listener bind address (default 127.0.0.1; TPROXY delivers to it). */
  listenHost?: string;
  /** Listener ports by direction (default the fixed proxy ports 10001 / 10002; 0 picks one). */
  ports?: Partial<Record<Direction, number>>;
  /** Port of the egress DNS listener (default the fixed proxy port 10004; 0: none). */
  dnsPort?: number;
  /** Addresses the DNS listener's UDP sockets bind, one per family (default: from listenHost, as tproxyFamilies). */
  dnsUdpHosts?: readonly string[];
  /** Make listeners transparent (IP_TRANSPARENT) so TPROXY can hand them connections (default true). */
  transparent?: boolean;
  /** Mark upstream connections with the source identity (SO_MARK, needs CAP_NET_ADMIN; default true). */
  markUpstream?: boolean;
  /** Called with each listener after it listens (tests: make it transparent, etc.). */
  onListening?: (server: net.Server) => void;
  /** Bound on the agent's ack of a DNS answer's addresses (toFQDNs; default DefaultDnsAckTimeoutMs). */
  dnsAckTimeoutMs?: number;
}

/** One listener as Status reports it. */
export interface ListenerInfo {
  proxyPort: number;
  direction: Direction;
  parser: 'http' | 'dns';
  address: string;
}

/** The L7 proxy of one node. */
export class L7Proxy {
  private table = PolicyTable.empty();
  private readonly listeners = new Map<Direction, { listener: HttpListener; proxyPort: number }>();
  private readonly feed = new EventEmitter();
  private dns: { listener: DnsListener; proxyPort: number } | undefined;
  /** The agent's toFQDNs channel: DNS answers with addresses wait for its ack. */
  readonly dnsMappings: DnsMappingChannel;

  constructor(private readonly opts: L7ProxyOptions) {
    this.feed.setMaxListeners(0);
    this.dnsMappings = new DnsMappingChannel(opts.logger, opts.dnsAckTimeoutMs);
  }

  /** Starts the HTTP listeners (ingress 10001, egress 10002 unless given). */
  async start(): Promise<ListenerInfo[]> {
    for (const direction of ['ingress', 'egress'] as const) {
      const proxyPort = proxyPortFor(direction, 'http');
      const listener = new HttpListener({
        port: this.opts.ports?.[direction] ?? proxyPort,
        host: this.opts.listenHost ?? '127.0.0.1',
        logger: this.opts.logger,
        resolve: (socket) => this.resolve(direction, socket),
        connectUpstream: this.opts.markUpstream === false ? undefined : (ctx) => connectMarked(ctx),
        onRecord: (r) => this.feed.emit('record', r),
        onListening: this.opts.onListening,
      });
      await listener.listen();
      this.listeners.set(direction, { listener, proxyPort });
    }
    const dnsPort = this.opts.dnsPort ?? proxyPortFor('egress', 'dns');
    if (dnsPort !== 0) {
      const host = this.opts.listenHost ?? '127.0.0.1';
      const listener = new DnsListener({
        port: dnsPort,
        udpHosts: this.opts.dnsUdpHosts ?? (host === '::' ? ['127.0.0.1', '::1'] : [host]),
        tcpHost: host,
        transparent: this.opts.transparent !== false,
        onListening: this.opts.onListening,
        resolve: (destination, source) => this.resolveAddresses('egress', destination, source),
        markUpstream: this.opts.markUpstream,
        onRecord: (r) => this.feed.emit('dns', r),
        learn: (m) => this.dnsMappings.learn(m),
        logger: this.opts.logger,
      });
      await listener.listen();
      this.dns = { listener, proxyPort: dnsPort };
    }
    return this.listenerInfo();
  }

  /** The listeners. */
  listenerInfo(): ListenerInfo[] {
    const out: ListenerInfo[] = [...this.listeners].map(([direction, { listener, proxyPort }]) => ({ proxyPort, direction, parser: 'http' as const, address: listener.address() }));
    if (this.dns) out.push({ proxyPort: this.dns.proxyPort, direction: 'egress', parser: 'dns', address: this.dns.listener.address() });
    return out;
  }

  /** Request counters over every listener. */
  counters(): { forwarded: number; denied: number; rejected: number } {
    const c = { forwarded: 0, denied: 0, rejected: 0 };
    for (const { listener } of this.listeners.values()) {
      c.forwarded += listener.counters.forwarded;
      c.denied += listener.counters.denied;
      c.rejected += listener.counters.rejected;
    }
    if (this.dns) {
      c.forwarded += this.dns.listener.counters.forwarded;
      c.denied += this.dns.listener.counters.denied;
      c.rejected += this.dns.listener.counters.rejected;
    }
    return c;
  }

  /** The table being enforced. */
  get policy(): PolicyTable {
    return this.table;
  }

  /** Enforces `table` from the next request on (existing connections included). */
  apply(table: PolicyTable): void {
    this.table = table;
    this.opts.logger.info('policy applied', { revision: String(table.revision), endpoints: table.endpointIds.length });
  }

  /** Subscribes to access records; returns the unsubscribe function. */
  onRecord(fn: (r: AccessRecord) => void): () => void {
    this.feed.on('record', fn);
    return () => this.feed.off('record', fn);
  }

  /** Subscribes to DNS access records; returns the unsubscribe function. */
  onDnsRecord(fn: (r: DnsAccessRecord) => void): () => void {
    this.feed.on('dns', fn);
    return () => this.feed.off('dns', fn);
  }

  /** Closes the listeners and their connections. */
  async stop(): Promise<void> {
    await Promise.all([...this.listeners.values()].map(({ listener }) => listener.close()));
    this.listeners.clear();
    this.dnsMappings.failAll('the proxy is stopping');
    await this.dns?.listener.close();
    this.dns = undefined;
  }

  /**
   * The context of a redirected connection: its original destination is the socket's
   * local address (TPROXY keeps it), its source the remote address. Ingress: the
   * endpoint is the destination, the peer the source; egress the other way round.
   */
  resolve(direction: Direction, socket: net.Socket): ConnectionContext | undefined {
    return this.resolveAddresses(direction, { address: socket.localAddress ?? '', port: socket.localPort ?? 0 }, { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 });
  }

  /**
   * The context of redirected traffic from `remote` to its original destination `localSide`
   * (what the listener's socket saw as its own address), as `resolve`.
   */
  resolveAddresses(direction: Direction, localSide: { address: string; port: number }, remoteSide: { address: string; port: number }): ConnectionContext | undefined {
    const local = normalizeAddress(localSide.address);
    const remote = normalizeAddress(remoteSide.address);
    const localPort = localSide.port;
    const remotePort = remoteSide.port;
    if (!local || !remote) return undefined;
    const endpointAddress = direction === 'ingress' ? local : remote;
    const rules = this.table.lookup(direction, endpointAddress, localPort);
    if (!rules) return undefined;
    const peerAddress = direction === 'ingress' ? remote : local;
    let peerIdentity = WORLD_IDENTITY;
    try {
      peerIdentity = this.opts.identities.identityOf(peerAddress);
    } catch (err) {
      this.opts.logger.warn('identity lookup failed; treating the peer as world', { address: peerAddress, error: (err as Error).message });
    }
    // A peer without an entry of its own gets the "any peer" entry (identity 0), if any.
    const peer = rules.peers.get(peerIdentity) ?? rules.peers.get(ANY_PEER);
    const srcIdentity = direction === 'ingress' ? peerIdentity : rules.identity;
    return {
      endpointId: rules.endpointId,
      direction,
      source: { address: remote, port: remotePort, identity: srcIdentity },
      destination: { address: local, port: localPort, identity: direction === 'ingress' ? rules.identity : peerIdentity },
      policy: peer,
      upstream: { address: local, port: localPort, mark: fromProxyMark(srcIdentity) },
    };
  }
}

function connectMarked(ctx: ConnectionContext): net.Socket {
  const s = markedSocket(net.isIP(ctx.upstream.address) === 6 ? 6 : 4, ctx.upstream.mark ?? 0);
  s.setNoDelay(true);
  return s.connect(ctx.upstream.port, ctx.upstream.address);
}
