// The agent's side of the L7 proxy: keeps a Sync stream to the node's cilium-proxy,
// pushes the endpoints' L7 policy as numbered revisions, and writes the datapath's
// proxy_ready entries only for what an acknowledged revision contains. When the stream
// ends (the proxy exited or was killed) every entry is removed at once, so redirected
// traffic drops (fail closed) until a new proxy acknowledges the policy again.
import { proxy as api } from '@cilium-ts/api';
import { createClient } from '@cilium-ts/grpc';
import { type Logger } from '@cilium-ts/process';

/** What the client writes proxy readiness into (the agent's Datapath). */
export interface ProxyReadyWriter {
  proxyReadySet(endpointId: number, proxyPort: number, target: { ifindex: number }): void;
  proxyReadyDelete(endpointId: number, proxyPort: number): boolean;
}

/** Options of ProxyClient. */
export interface ProxyClientOptions {
  /** The proxy's gRPC address (unix:///run/cilium-ts/proxy.sock). */
  address: string;
  datapath: ProxyReadyWriter;
  logger: Logger;
  /** Delay before reconnecting after the stream ended (default 500 ms, doubling to 5 s). */
  reconnectMs?: number;
}

const key = (endpointId: number, proxyPort: number): string => `${endpointId}/${proxyPort}`;

/** The agent's connection to the node's L7 proxy. */
export class ProxyClient {
  private client: api.ProxyClient | undefined;
  private stream: ReturnType<api.ProxyClient['sync']> | undefined;
  private endpoints: api.EndpointPolicy[] = [];
  private revision = 0n;
  /** Revision -> the policy it carried (until acknowledged or superseded). */
  private readonly pending = new Map<bigint, api.EndpointPolicy[]>();
  /** proxy_ready entries written: `${endpoint}/${proxyPort}`. */
  private readonly ready = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private delay: number;
  private stopped = false;
  private readonly ackListeners = new Set<(revision: bigint) => void>();

  constructor(private readonly opts: ProxyClientOptions) {
    this.delay = opts.reconnectMs ?? 500;
  }

  /** Connects (and keeps reconnecting) to the proxy. */
  start(): void {
    this.client = createClient(api.ProxyClient, this.opts.address);
    this.connect();
  }

  /** Sets the endpoints' L7 policy (the whole set) and pushes it as a new revision. */
  setEndpoints(endpoints: api.EndpointPolicy[]): void {
    this.endpoints = endpoints;
    // Entries of endpoints or ports that left the policy go now; new ones wait for the ack.
    const keep = new Set(endpoints.flatMap((e) => e.ports.map((p) => key(e.endpointId, p.proxyPort))));
    for (const k of [...this.ready]) if (!keep.has(k)) this.withdraw(k);
    this.push();
  }

  /** The proxy_ready entries the client has written (`endpoint/proxyPort`). */
  readyEntries(): string[] {
    return [...this.ready].sort();
  }

  /** Calls fn with each acknowledged revision; returns the unsubscribe function. */
  onAck(fn: (revision: bigint) => void): () => void {
    this.ackListeners.add(fn);
    return () => this.ackListeners.delete(fn);
  }

  /**
   * Closes the stream (the agent is stopping). The proxy_ready entries stay: the proxy keeps
   * enforcing the policy it acknowledged while the agent restarts, as Cilium's proxy does, and
   * the next agent removes them at start until the proxy acknowledges again. A proxy that dies
   * meanwhile leaves redirects to no listener: dropped, never passed at L4.
   */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    const stream = this.stream;
    this.stream = undefined;
    stream?.cancel();
    this.client?.close();
  }

  private connect(): void {
    if (this.stopped || !this.client) return;
    const stream = this.client.sync();
    this.stream = stream;
    let acked = false;
    stream.on('data', (ack: api.PolicyAck) => {
      acked = true;
      this.delay = this.opts.reconnectMs ?? 500;
      this.onAckReceived(ack);
    });
    const lost = (why: string): void => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      this.withdrawAll();
      if (this.stopped) return;
      this.opts.logger.warn('L7 proxy connection lost; redirects withdrawn (fail closed), reconnecting', { reason: why, retryInMs: this.delay });
      this.timer = setTimeout(() => this.connect(), this.delay);
      if (!acked) this.delay = Math.min(this.delay * 2, 5000);
    };
    stream.on('error', (err: Error) => lost(err.message));
    stream.on('end', () => lost('stream ended'));
    // A new stream starts at revision 1 for the proxy: push the current policy.
    this.revision = 0n;
    this.pending.clear();
    this.push();
  }

  private push(): void {
    if (!this.stream) return;
    this.revision += 1n;
    this.pending.set(this.revision, this.endpoints);
    this.stream.write(api.PolicyUpdate.fromPartial({ revision: this.revision, endpoints: this.endpoints }));
  }

  private onAckReceived(ack: api.PolicyAck): void {
    const endpoints = this.pending.get(ack.revision);
    for (const r of [...this.pending.keys()]) if (r <= ack.revision) this.pending.delete(r);
    if (!endpoints) return;
    // Only the newest pushed policy decides what is ready; an older ack adds nothing the newer one dropped.
    const latest = this.endpoints;
    const inLatest = new Set(latest.flatMap((e) => e.ports.map((p) => key(e.endpointId, p.proxyPort))));
    for (const e of endpoints) {
      for (const p of e.ports) {
        const k = key(e.endpointId, p.proxyPort);
        if (!inLatest.has(k) || this.ready.has(k)) continue;
        this.opts.datapath.proxyReadySet(e.endpointId, p.proxyPort, { ifindex: 0 });
        this.ready.add(k);
      }
    }
    for (const fn of this.ackListeners) fn(ack.revision);
  }

  private withdraw(k: string): void {
    const [ep, port] = k.split('/').map(Number) as [number, number];
    try {
      this.opts.datapath.proxyReadyDelete(ep, port);
    } catch (err) {
      this.opts.logger.error('could not withdraw a proxy redirect', { endpoint: ep, proxyPort: port, error: (err as Error).message });
    }
    this.ready.delete(k);
  }

  private withdrawAll(): void {
    for (const k of [...this.ready]) this.withdraw(k);
  }
}
