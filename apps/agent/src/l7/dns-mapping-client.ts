// The agent's side of cilium.proxy.v1's DnsMappings: keeps the stream to the node's proxy
// open (reconnecting), hands every DNS answer the proxy sends to the fqdn name manager and
// acknowledges it once its IPs are in the policy (ok false, with the reason, when it could
// not be applied: the pod then gets SERVFAIL).
import { proxy as api } from '@cilium-ts/api';
import { createClient } from '@cilium-ts/grpc';
import type { Logger } from '@cilium-ts/process';
import type { LearnedAnswer } from './fqdn-name-manager.js';

/** Options of DnsMappingClient. */
export interface DnsMappingClientOptions {
  /** The proxy's gRPC address. */
  address: string;
  /** Applies one answer (synchronously; throws when it cannot). */
  learn: (a: LearnedAnswer) => void;
  logger: Logger;
  /** Delay before reconnecting (default 500 ms, doubling to 5 s). */
  reconnectMs?: number;
}

/** See the file comment. */
export class DnsMappingClient {
  private client: api.ProxyClient | undefined;
  private stream: ReturnType<api.ProxyClient['dnsMappings']> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private delay: number;
  private stopped = false;

  constructor(private readonly opts: DnsMappingClientOptions) {
    this.delay = opts.reconnectMs ?? 500;
  }

  /** Connects (and keeps reconnecting). */
  start(): void {
    this.client = createClient(api.ProxyClient, this.opts.address);
    this.connect();
  }

  /** Closes the stream. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    const s = this.stream;
    this.stream = undefined;
    s?.cancel();
    this.client?.close();
  }

  private connect(): void {
    if (this.stopped || !this.client) return;
    const stream = this.client.dnsMappings();
    this.stream = stream;
    stream.on('data', (m: api.DnsMapping) => {
      this.delay = this.opts.reconnectMs ?? 500;
      let ack: api.DnsMappingAck;
      try {
        this.opts.learn({ endpointId: m.endpointId, name: m.name, ips: m.ips, ttl: m.ttl });
        ack = api.DnsMappingAck.fromPartial({ id: m.id, ok: true });
      } catch (err) {
        this.opts.logger.warn('DNS answer not applied to the policy', { endpoint: m.endpointId, name: m.name, error: (err as Error).message });
        ack = api.DnsMappingAck.fromPartial({ id: m.id, ok: false, error: (err as Error).message });
      }
      stream.write(ack);
    });
    const lost = (why: string): void => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      if (this.stopped) return;
      this.opts.logger.debug('DnsMappings stream to the proxy lost; reconnecting', { reason: why, retryInMs: this.delay });
      this.timer = setTimeout(() => this.connect(), this.delay);
      this.delay = Math.min(this.delay * 2, 5000);
    };
    stream.on('error', (err: Error) => lost(err.message));
    stream.on('end', () => lost('stream ended'));
  }
}
