// The node proxy's access records (cilium.proxy.v1 Proxy/AccessLog) for Hubble's L7 flows:
// one stream to the proxy, reopened (backoff doubling to 5 s) whenever it ends, e.g. while
// the proxy restarts. Records of the time the stream was down are not recovered.
import { proxy } from '@cilium-ts/api';
import { createClient } from '@cilium-ts/grpc';
import type { Logger } from '@cilium-ts/process';

/** Options of ProxyAccessLog. */
export interface ProxyAccessLogOptions {
  /** The proxy's gRPC address (cilium-proxy --listen). */
  address: string;
  logger: Logger;
  onRecord: (r: proxy.AccessLogRecord) => void;
  /** First reconnect delay (default 200 ms). */
  initialBackoffMs?: number;
}

/** Follows the node proxy's access log. */
export class ProxyAccessLog {
  private client: proxy.ProxyClient | undefined;
  private stream: ReturnType<proxy.ProxyClient['accessLog']> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private delay: number;
  private stopped = false;
  private connectedOnce = false;

  constructor(private readonly opts: ProxyAccessLogOptions) {
    this.delay = opts.initialBackoffMs ?? 200;
  }

  /** Opens the stream (and keeps reopening it). */
  start(): void {
    this.client = createClient(proxy.ProxyClient, this.opts.address);
    this.connect();
  }

  /** Closes the stream for good. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.stream?.cancel();
    this.client?.close();
  }

  private connect(): void {
    if (this.stopped || !this.client) return;
    const stream = this.client.accessLog(proxy.AccessLogRequest.fromPartial({}));
    this.stream = stream;
    stream.on('data', (r: proxy.AccessLogRecord) => {
      this.delay = this.opts.initialBackoffMs ?? 200;
      this.connectedOnce = true;
      this.opts.onRecord(r);
    });
    const lost = (why: string): void => {
      if (this.stream !== stream || this.stopped) return;
      this.stream = undefined;
      // Quiet until the first record: a node may run without a proxy for a while.
      (this.connectedOnce ? this.opts.logger.warn : this.opts.logger.debug).call(this.opts.logger, 'proxy access log stream ended; reconnecting', { reason: why, retryInMs: this.delay });
      this.timer = setTimeout(() => this.connect(), this.delay);
      this.delay = Math.min(this.delay * 2, 5000);
    };
    stream.on('error', (err: Error) => lost(err.message));
    stream.on('end', () => lost('stream ended'));
  }
}
