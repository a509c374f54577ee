// A stand-in for the node's L7 proxy as hubble-server sees it: the cilium.proxy.v1 Proxy
// service's AccessLog stream on a unix socket, sending the access records a test hands it
// (what cilium-proxy sends for each proxied HTTP request and response). Sync and Status
// answer UNIMPLEMENTED: hubble-server only reads the access log.
import { Server, ServerCredentials, status as Status, type ServerWritableStream } from '@grpc/grpc-js';
import { proxy } from '@cilium-ts/api';

/** FakeAccessLog serves Proxy/AccessLog and sends records to its subscribers. */
export class FakeAccessLog {
  private readonly server = new Server();
  private readonly subscribers = new Set<ServerWritableStream<proxy.AccessLogRequest, proxy.AccessLogRecord>>();

  constructor(readonly socket: string) {}

  /** address is the gRPC target hubble-server's --proxy-address takes. */
  get address(): string {
    return `unix://${this.socket}`;
  }

  /** subscriberCount is how many AccessLog streams are open (hubble-server holds one). */
  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** start serves on the socket. */
  async start(): Promise<void> {
    const unimplemented = (_call: unknown, cb?: (err: { code: number; details: string }) => void): void =>
      cb?.({ code: Status.UNIMPLEMENTED, details: 'the fake access log serves AccessLog only' });
    this.server.addService(proxy.ProxyService, {
      sync: (call: { emit: (e: string, err: unknown) => void }) => call.emit('error', { code: Status.UNIMPLEMENTED, details: 'the fake access log serves AccessLog only' }),
      status: unimplemented,
      accessLog: (call: ServerWritableStream<proxy.AccessLogRequest, proxy.AccessLogRecord>) => {
        this.subscribers.add(call);
        call.on('cancelled', () => this.subscribers.delete(call));
        call.on('close', () => this.subscribers.delete(call));
      },
    });
    await new Promise<void>((resolve, reject) =>
      this.server.bindAsync(this.address, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
    );
  }

  /** send writes the records to every subscriber. */
  send(records: proxy.AccessLogRecord[]): void {
    for (const call of this.subscribers) for (const r of records) call.write(r);
  }

  /** stop ends the streams and the server. */
  stop(): void {
    for (const call of this.subscribers) call.end();
    this.subscribers.clear();
    this.server.forceShutdown();
  }
}
