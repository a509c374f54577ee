// The agent's L7 redirects: keeps the node's cilium-proxy fed with the L7 policy of this
// node's endpoints (rebuilt on every policy, identity or endpoint change) through a
// ProxyClient, which writes the datapath's proxy_ready entries only for what the proxy has
// acknowledged and withdraws them when the proxy goes (fail closed).
import { proxy as api } from '@cilium-ts/api';
import type { Logger } from '@cilium-ts/process';
import { ProxyClient, type ProxyReadyWriter } from '../proxy-client.js';
import { buildL7Endpoints, type L7Endpoint } from './l7-endpoint-policy.js';

/** What the redirects read and write. */
export interface L7RedirectsDeps {
  /** The proxy's gRPC address (--proxy-address). */
  address: string;
  /** The datapath's proxy_ready map (and its list, to drop entries a previous run left). */
  datapath: ProxyReadyWriter & { proxyReadyList(): Array<{ endpointId: number; proxyPort: number }> };
  /** This node's endpoints with their live policy handles. */
  endpoints: () => L7Endpoint[];
  logger: Logger;
  /** Reconnect delay of the ProxyClient (tests). */
  reconnectMs?: number;
}

/** Feeds the node's L7 proxy; see the file comment. */
export class L7Redirects {
  private readonly client: ProxyClient;
  private last = '';
  private scheduled: NodeJS.Immediate | undefined;
  private started = false;

  constructor(private readonly d: L7RedirectsDeps) {
    this.client = new ProxyClient({ address: d.address, datapath: d.datapath, logger: d.logger, reconnectMs: d.reconnectMs });
  }

  /**
   * Builds the current policy, removes proxy_ready entries a previous agent left for
   * anything not in it, and starts the proxy connection.
   */
  start(): void {
    const endpoints = buildL7Endpoints(this.d.endpoints());
    const wanted = new Set(endpoints.flatMap((e) => e.ports.map((p) => `${e.endpointId}/${p.proxyPort}`)));
    for (const r of this.d.datapath.proxyReadyList()) {
      if (!wanted.has(`${r.endpointId}/${r.proxyPort}`)) this.d.datapath.proxyReadyDelete(r.endpointId, r.proxyPort);
    }
    this.started = true;
    this.push(endpoints);
    this.client.start();
  }

  /** Rebuilds soon (coalesced: many changes in one tick give one rebuild). */
  schedule(): void {
    if (!this.started || this.scheduled) return;
    this.scheduled = setImmediate(() => {
      this.scheduled = undefined;
      this.rebuild();
    });
  }

  /** Rebuilds now and pushes the policy when it changed (an endpoint that left must go before its id is reused). */
  rebuild(): void {
    if (!this.started) return;
    try {
      this.push(buildL7Endpoints(this.d.endpoints()));
    } catch (err) {
      // Nothing is marked ready for what could not be built: its traffic stays dropped.
      this.d.logger.error('building the L7 policy failed; the proxy keeps the previous one', { error: (err as Error).message });
    }
  }

  /** The proxy_ready entries written (`endpoint/proxyPort`). */
  readyEntries(): string[] {
    return this.client.readyEntries();
  }

  /** Calls fn with each acknowledged revision; returns the unsubscribe function. */
  onAck(fn: (revision: bigint) => void): () => void {
    return this.client.onAck(fn);
  }

  /** Stops the connection; the entries it wrote are withdrawn. */
  stop(): void {
    clearImmediate(this.scheduled);
    this.started = false;
    this.client.stop();
  }

  private push(endpoints: api.EndpointPolicy[]): void {
    const text = JSON.stringify(endpoints.map((e) => api.EndpointPolicy.toJSON(e)));
    if (text === this.last) return;
    this.last = text;
    this.d.logger.info('L7 policy for the proxy', { endpoints: endpoints.length, ports: endpoints.reduce((n, e) => n + e.ports.length, 0) });
    this.client.setEndpoints(endpoints);
  }
}
