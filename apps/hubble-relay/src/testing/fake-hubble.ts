// A small hubble-server stand-in for tests: observer.Observer (GetFlows, ServerStatus,
// GetNamespaces) and peer.Peer (Notify) on a unix socket, streaming crafted flows.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server, ServerCredentials, type ServerWritableStream } from '@grpc/grpc-js';
import { flow, observer, peer } from '@cilium-ts/api';

/** FakeHubble is one fake hubble-server. */
export class FakeHubble {
  readonly flows: observer.GetFlowsResponse[] = [];
  readonly requests: observer.GetFlowsRequest[] = [];
  /** Metadata of each GetFlows call, in the order of `requests`. */
  readonly requestMetadata: Record<string, unknown>[] = [];
  private readonly followers = new Set<ServerWritableStream<observer.GetFlowsRequest, observer.GetFlowsResponse>>();
  private readonly notifiers = new Set<ServerWritableStream<peer.NotifyRequest, peer.ChangeNotification>>();
  peers: peer.ChangeNotification[] = [];
  /** What GetNamespaces answers. */
  namespaces: observer.Namespace[] = [];
  status = { numFlows: 0n, maxFlows: 0n, seenFlows: 0n, uptimeNs: 0n };
  private server: Server | undefined;
  private tcpAddress: string | undefined;

  /** With `tcpCredentials` it listens on 127.0.0.1 (a free port) with them instead of on `socket`. */
  constructor(
    readonly name: string,
    readonly socket: string,
    private readonly tcpCredentials?: ServerCredentials,
  ) {}

  /** followerCount is the number of open follow-mode GetFlows calls. */
  get followerCount(): number {
    return this.followers.size;
  }

  /** address is the target of this fake: unix:///socket, or 127.0.0.1:port once a TCP fake started. */
  get address(): string {
    return this.tcpAddress ?? `unix://${this.socket}`;
  }

  /** addFlow appends a flow at the given second (and nanos), sends it to followers too. */
  addFlow(seconds: number, nanos = 0, summary = `${this.name}-${seconds}`): observer.GetFlowsResponse {
    const time = { seconds: BigInt(seconds), nanos };
    const resp = observer.GetFlowsResponse.fromPartial({
      flow: flow.Flow.fromPartial({ time, nodeName: this.name, verdict: flow.Verdict.FORWARDED, Summary: summary }),
      nodeName: this.name,
      time,
    });
    this.flows.push(resp);
    for (const call of this.followers) call.write(resp);
    return resp;
  }

  /** notify sends a peer change to the Notify subscribers. */
  notify(cn: peer.ChangeNotification): void {
    for (const call of this.notifiers) call.write(cn);
  }

  /** start serves on the socket. */
  async start(): Promise<void> {
    const server = new Server();
    const impl: observer.ObserverServer = {
      getFlows: (call) => {
        this.requests.push(call.request);
        this.requestMetadata.push(call.metadata.getMap());
        const n = Number(call.request.number > 1000000n ? 1000000n : call.request.number);
        const initial = n > 0 ? this.flows.slice(-n) : call.request.follow ? [] : this.flows;
        for (const r of initial) call.write(r);
        if (call.request.follow) {
          this.followers.add(call);
          call.on('cancelled', () => this.followers.delete(call));
        } else {
          call.end();
        }
      },
      getAgentEvents: (call) => call.end(),
      getDebugEvents: (call) => call.end(),
      getNodes: (_call, cb) => cb(null, observer.GetNodesResponse.fromPartial({})),
      getNamespaces: (_call, cb) => cb(null, observer.GetNamespacesResponse.fromPartial({ namespaces: this.namespaces })),
      serverStatus: (_call, cb) => cb(null, observer.ServerStatusResponse.fromPartial({ ...this.status, version: `fake-${this.name}` })),
    };
    const peerImpl: peer.PeerServer = {
      notify: (call) => {
        for (const p of this.peers) call.write(p);
        this.notifiers.add(call);
        call.on('cancelled', () => this.notifiers.delete(call));
      },
    };
    server.addService(observer.ObserverService, impl);
    server.addService(peer.PeerService, peerImpl);
    const target = this.tcpCredentials ? '127.0.0.1:0' : this.address;
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(target, this.tcpCredentials ?? ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    if (this.tcpCredentials) this.tcpAddress = `127.0.0.1:${port}`;
    this.server = server;
  }

  /** kill drops every connection at once, like a crashed process. */
  kill(): void {
    this.server?.forceShutdown();
    this.server = undefined;
    this.followers.clear();
    this.notifiers.clear();
  }
}

/** tempDir makes a private directory for sockets and returns it with a remover. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** eventually polls `check` until it returns a value that is not undefined, or throws after timeoutMs. */
export async function eventually<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
