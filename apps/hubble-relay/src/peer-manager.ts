import { EventEmitter } from 'node:events';
import { credentials as grpcCredentials, type ChannelCredentials, type ClientReadableStream, type MethodDefinition } from '@grpc/grpc-js';
import { peer } from '@cilium-ts/api';
import { Backoff } from './backoff.js';
import { PeerConnection, type ConnectionOptions, type PeerSpec } from './peer-connection.js';
import { toDialTarget } from './peer-address.js';
import { peerUnary } from './peer-unary.js';

/** PeerView is a read-only snapshot of one peer for the Observer handlers. */
export interface PeerView {
  name: string;
  /** Address as shown by GetNodes. */
  address: string;
  tls: { serverName: string } | undefined;
  available: boolean;
  /** The peer's grpc-js client, when it is reached through grpc-js (see PeerConnection.observer). */
  client: PeerConnection['observer'];
  /** The peer's one raw HTTP/2 connection, when it is reached raw (see PeerConnection.rawChannel). */
  rawChannel: PeerConnection['rawChannel'];
  /** Makes a unary call on the peer's connection (see peerUnary); undefined when the peer has no usable address. */
  unary: (<Req, Res>(def: MethodDefinition<Req, Res>, req: Req, timeoutMs: number) => Promise<Res>) | undefined;
}

/** PeerSource is the narrow view of the peer pool that the Observer service needs. */
export interface PeerSource {
  /** list returns every known peer, sorted by name. */
  list(): PeerView[];
  /** watch calls `listener` whenever a peer is added, removed or changes availability; returns the unsubscriber. */
  watch(listener: () => void): () => void;
}

/** PeerManagerOptions configure discovery (peer.Peer/Notify and/or a static list) and dialling. */
export interface PeerManagerOptions extends ConnectionOptions {
  /** Address of a peer.Peer service (e.g. unix:///var/run/cilium/hubble.sock); optional with static peers. */
  peerService?: string;
  /** Credentials for the peer service connection (default plaintext). */
  peerServiceCredentials?: ChannelCredentials;
  /** TLS name to verify the peer service against (e.g. hubble-peer.default.hubble-grpc.cilium.io). */
  peerServiceTlsServerName?: string;
  /** Peers known without discovery. */
  staticPeers?: PeerSpec[];
  /** Delay before re-subscribing to Notify after an error grows up to this (upstream: 30 s). */
  retryTimeoutMs: number;
  /** Called with log lines (level, message, fields). */
  log?: (level: 'debug' | 'info' | 'warn', msg: string, fields?: Record<string, unknown>) => void;
}

/**
 * PeerManager keeps the relay's peer pool: it follows peer.Peer/Notify (upsert on
 * PEER_ADDED/PEER_UPDATED, remove on PEER_DELETED), keeps the known peers when the stream fails
 * and re-subscribes with backoff, and holds one connection per peer. It emits 'change' whenever
 * a peer or the peer service connection changes, and then calls its watchers (follow-mode
 * calls, one each: kept in a set rather than as 'change' listeners, which would be counted
 * against the emitter's listener limit and warned about as a leak once 11 calls follow).
 */
export class PeerManager extends EventEmitter implements PeerSource {
  private readonly peers = new Map<string, PeerConnection>();
  private readonly watchers = new Set<() => void>();
  private notifyClient: peer.PeerClient | undefined;
  private notifyStream: ClientReadableStream<peer.ChangeNotification> | undefined;
  private notifyTimer: NodeJS.Timeout | undefined;
  private readonly notifyBackoff: Backoff;
  private connected = false;
  private stopped = false;

  constructor(private readonly opts: PeerManagerOptions) {
    super();
    this.notifyBackoff = new Backoff({ initialMs: Math.min(1000, opts.retryTimeoutMs), maxMs: opts.retryTimeoutMs });
  }

  /** start adds the static peers and subscribes to the peer service. */
  start(): void {
    for (const spec of this.opts.staticPeers ?? []) this.upsert(spec);
    if (this.opts.peerService !== undefined) this.subscribe();
    this.changed();
  }

  /** stop closes every connection and the Notify stream. */
  stop(): void {
    this.stopped = true;
    if (this.notifyTimer) clearTimeout(this.notifyTimer);
    this.notifyStream?.cancel();
    this.notifyClient?.close();
    for (const conn of this.peers.values()) conn.close();
    this.peers.clear();
  }

  /** peerServiceConnected is true while the Notify stream is up, or always without a peer service. */
  get peerServiceConnected(): boolean {
    return this.opts.peerService === undefined ? true : this.connected;
  }

  /** healthy is upstream's relay health: peer service connected and at least one peer available. */
  get healthy(): boolean {
    return this.peerServiceConnected && [...this.peers.values()].some((p) => p.available);
  }

  /** watch calls `listener` after every 'change'; the returned function unsubscribes. */
  watch(listener: () => void): () => void {
    // A function object of its own, so that a listener watching twice is called twice and each
    // unsubscriber removes only its own subscription.
    const entry = (): void => listener();
    this.watchers.add(entry);
    return () => {
      this.watchers.delete(entry);
    };
  }

  /** Number of watchers subscribed (one per follow-mode GetFlows call in progress). */
  get watcherCount(): number {
    return this.watchers.size;
  }

  /** changed emits 'change' and calls the watchers (a snapshot: those added meanwhile wait for the next change). */
  private changed(): void {
    this.emit('change');
    if (this.watchers.size === 0) return;
    for (const w of [...this.watchers]) w();
  }

  /** list returns every known peer, sorted by name. */
  list(): PeerView[] {
    return [...this.peers.values()]
      .map((c) => ({
        name: c.spec.name,
        address: c.displayAddress,
        tls: c.spec.tls,
        available: c.available,
        client: c.observer,
        rawChannel: c.rawChannel,
        unary: c.target === undefined ? undefined : <Req, Res>(def: MethodDefinition<Req, Res>, req: Req, timeoutMs: number) => peerUnary(c, def, req, timeoutMs),
      }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** upsert adds a peer or replaces it when its address or TLS settings changed. */
  upsert(spec: PeerSpec): void {
    if (this.stopped) return;
    const old = this.peers.get(spec.name);
    if (old && old.spec.address === spec.address && old.spec.tls?.serverName === spec.tls?.serverName) return;
    old?.close();
    const conn = new PeerConnection(spec, this.opts, () => this.changed());
    this.peers.set(spec.name, conn);
    this.opts.log?.('info', 'peer added or updated', { peer: spec.name, address: spec.address, target: conn.target, error: conn.addressError });
    this.changed();
  }

  /** remove forgets a peer and closes its connection. */
  remove(name: string): void {
    const old = this.peers.get(name);
    if (!old) return;
    old.close();
    this.peers.delete(name);
    this.opts.log?.('info', 'peer removed', { peer: name });
    this.changed();
  }

  private subscribe(): void {
    if (this.stopped || this.opts.peerService === undefined) return;
    const target = toDialTarget(this.opts.peerService);
    this.notifyClient?.close();
    const client = new peer.PeerClient(target, this.opts.peerServiceCredentials ?? grpcCredentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
      ...(this.opts.peerServiceTlsServerName ? { 'grpc.ssl_target_name_override': this.opts.peerServiceTlsServerName } : {}),
    });
    this.notifyClient = client;
    const stream = client.notify(peer.NotifyRequest.fromPartial({}));
    this.notifyStream = stream;
    const markConnected = (): void => {
      if (this.connected || this.notifyStream !== stream) return;
      this.connected = true;
      this.notifyBackoff.reset();
      this.opts.log?.('info', 'connected to the peer service', { target });
      this.changed();
    };
    stream.on('metadata', markConnected);
    stream.on('data', (cn: peer.ChangeNotification) => {
      markConnected();
      this.apply(cn);
    });
    stream.on('error', () => {
      // The 'status' handler below does the work; this listener keeps the error from throwing.
    });
    stream.on('status', (s: { code: number; details: string }) => {
      if (this.notifyStream !== stream || this.stopped) return;
      this.notifyStream = undefined;
      client.close();
      const wasConnected = this.connected;
      this.connected = false;
      const delay = this.notifyBackoff.next();
      this.opts.log?.('warn', 'peer service stream ended; keeping known peers and retrying', {
        target, code: s.code, details: s.details, retryInMs: delay,
      });
      if (wasConnected) this.changed();
      this.notifyTimer = setTimeout(() => {
        this.notifyTimer = undefined;
        this.subscribe();
      }, delay);
    });
  }

  private apply(cn: peer.ChangeNotification): void {
    const spec: PeerSpec = { name: cn.name, address: cn.address, tls: cn.tls ? { serverName: cn.tls.serverName } : undefined };
    switch (cn.type) {
      case peer.ChangeNotificationType.PEER_ADDED:
      case peer.ChangeNotificationType.PEER_UPDATED:
        this.upsert(spec);
        break;
      case peer.ChangeNotificationType.PEER_DELETED:
        this.remove(cn.name);
        break;
      default:
        this.opts.log?.('debug', 'ignoring peer notification of unknown type', { peer: cn.name, type: cn.type });
    }
  }
}
