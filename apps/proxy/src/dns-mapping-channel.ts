// The proxy's side of cilium.proxy.v1's DnsMappings (toFQDNs): every allowed DNS answer
// that carries addresses goes to the agent, and the answer reaches the pod only once the
// agent acknowledged it (its IPs are then in the kernel's ipcache and the endpoints'
// policy maps). No agent stream, a refusal or no ack within the bound: the caller answers
// SERVFAIL, never the addresses without their policy (fail closed).
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { proxy as api } from '@cilium-ts/api';
import type { Logger } from '@cilium-ts/process';

/** What the DNS listener hands over for one allowed answer. */
export interface DnsLearned {
  endpointId: number;
  /** Lower case, trailing dot. */
  name: string;
  ips: string[];
  ttl: number;
  server: { address: string; port: number };
}

/** The agent's verdict on one answer: ok, or why it was not applied. */
export type DnsLearnResult = { ok: true } | { ok: false; reason: string };

/** Default bound on the agent's ack (a resolver retries after 5 s: stay well below). */
export const DefaultDnsAckTimeoutMs = 2000;

interface Pending {
  resolve: (r: DnsLearnResult) => void;
  timer: NodeJS.Timeout;
}

/** See the file comment. One agent stream at a time: a new one replaces the old. */
export class DnsMappingChannel {
  private call: ServerDuplexStream<api.DnsMappingAck, api.DnsMapping> | undefined;
  private nextId = 1n;
  private readonly pending = new Map<bigint, Pending>();

  constructor(
    private readonly logger: Logger,
    private readonly timeoutMs = DefaultDnsAckTimeoutMs,
  ) {}

  /** True while an agent stream is open. */
  get connected(): boolean {
    return this.call !== undefined;
  }

  /** Serves one agent stream (the DnsMappings handler). */
  attach(call: ServerDuplexStream<api.DnsMappingAck, api.DnsMapping>): void {
    const old = this.call;
    this.call = call;
    if (old) {
      this.failAll('the agent opened a new DnsMappings stream');
      old.end();
    }
    this.logger.info('agent attached to DnsMappings');
    call.on('data', (ack: api.DnsMappingAck) => {
      const p = this.pending.get(ack.id);
      if (!p) return; // timed out already
      this.pending.delete(ack.id);
      clearTimeout(p.timer);
      p.resolve(ack.ok ? { ok: true } : { ok: false, reason: `the agent refused it: ${ack.error || 'no reason given'}` });
    });
    const gone = (): void => {
      if (this.call !== call) return;
      this.call = undefined;
      this.failAll('the agent stream ended');
      this.logger.warn('agent left DnsMappings: DNS answers with addresses get SERVFAIL until it is back');
    };
    call.on('end', () => {
      gone();
      call.end();
    });
    call.on('error', gone);
    call.on('cancelled', gone);
    call.on('close', gone);
  }

  /** Sends one answer to the agent and waits for its ack (bounded). */
  learn(m: DnsLearned): Promise<DnsLearnResult> {
    const call = this.call;
    if (!call) return Promise.resolve({ ok: false, reason: 'no agent is attached to DnsMappings' });
    const id = this.nextId++;
    return new Promise<DnsLearnResult>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve({ ok: false, reason: `no ack from the agent within ${this.timeoutMs} ms` });
      }, this.timeoutMs);
      this.pending.set(id, { resolve, timer });
      call.write(
        api.DnsMapping.fromPartial({ id, endpointId: m.endpointId, name: m.name, ips: m.ips, ttl: m.ttl, serverAddress: m.server.address, serverPort: m.server.port }),
      );
    });
  }

  /** Fails every waiting answer (stream gone, proxy stopping). */
  failAll(reason: string): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.resolve({ ok: false, reason });
      this.pending.delete(id);
    }
  }
}
