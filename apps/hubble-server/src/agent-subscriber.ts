// Subscribes to the agent's Monitor.Listen and Metadata.Watch streams and keeps them open,
// reconnecting with exponential backoff when the agent restarts or is not up yet.
import type { EventEmitter } from 'node:events';
import { agent } from '@cilium-ts/api';
import { createClient } from '@cilium-ts/grpc';
import { type Logger } from '@cilium-ts/process';
import type { ReadGate } from './ingest-gate.js';
import { decodeMonitorMessage, type MonitorMessage } from './monitor-batch-decoder.js';
import { RawServerStream } from './raw-grpc-stream.js';


/** What the subscriber delivers. */
export interface AgentSubscriberHandlers {
  /** One Monitor.Listen message: a datapath batch read by hand, or any other MonitorEvent. */
  monitorMessage(message: MonitorMessage): void;
  /** Called before the first metadata event of every (re)connected Watch stream. */
  metadataReset(): void;
  metadataEvent(event: agent.MetadataEvent): void;
}

/** Options of AgentSubscriber. */
export interface AgentSubscriberOptions {
  /** The agent's address, e.g. unix:///run/cilium-ts/agent.sock. */
  address: string;
  logger: Logger;
  handlers: AgentSubscriberHandlers;
  /** Asked after each Monitor message: while closed the Monitor stream pauses (back-pressure to the agent). */
  ingestGate?: ReadGate;
  /** First reconnect delay (default 200 ms), doubled up to maxBackoffMs (default 5 s). */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

/** What the subscriber needs of a streaming call (grpc-js's, or RawServerStream). */
type StreamCall = Pick<EventEmitter, 'on'> & { cancel(): void };

interface StreamState {
  name: string;
  connected: boolean;
  backoffMs: number;
  call?: StreamCall;
  timer?: NodeJS.Timeout;
}

/** Keeps the two agent streams open until stop(). */
export class AgentSubscriber {
  private readonly metadataClient: agent.MetadataClient;
  private readonly monitor: StreamState;
  private readonly metadata: StreamState;
  private stopped = false;

  constructor(private readonly options: AgentSubscriberOptions) {
    this.metadataClient = createClient(agent.MetadataClient, options.address);
    const initial = options.initialBackoffMs ?? 200;
    this.monitor = { name: 'Monitor.Listen', connected: false, backoffMs: initial };
    this.metadata = { name: 'Metadata.Watch', connected: false, backoffMs: initial };
  }

  /** Whether both streams currently deliver. */
  get connected(): boolean {
    return this.monitor.connected && this.metadata.connected;
  }

  /** Opens both streams. */
  start(): void {
    this.openMonitor();
    this.openMetadata();
  }

  /** Cancels both streams and stops reconnecting. */
  stop(): void {
    this.stopped = true;
    for (const s of [this.monitor, this.metadata]) {
      clearTimeout(s.timer);
      s.call?.cancel();
      s.connected = false;
    }
    this.metadataClient.close();
  }

  private openMonitor(): void {
    // The event stream goes through RawServerStream (see raw-grpc-stream.ts): it is the hot path.
    // Datapath records come in batches (MonitorEvent.batch): one gRPC message per record cost
    // more than decoding and parsing the record.
    const request = agent.MonitorRequest.encode(agent.MonitorRequest.fromPartial({ agentEvents: true, batch: true })).finish();
    const call = new RawServerStream(this.options.address, agent.MonitorService.listen.path, request, decodeMonitorMessage, this.options.ingestGate);
    this.attach(this.monitor, call, (m: MonitorMessage) => this.options.handlers.monitorMessage(m), () => this.openMonitor());
  }

  private openMetadata(): void {
    const call = this.metadataClient.watch(agent.MetadataWatchRequest.fromPartial({}));
    let first = true;
    this.attach(
      this.metadata,
      call,
      (e: agent.MetadataEvent) => {
        if (first) {
          first = false;
          this.options.handlers.metadataReset();
        }
        this.options.handlers.metadataEvent(e);
      },
      () => this.openMetadata(),
    );
  }

  private attach<T>(state: StreamState, call: StreamCall, onData: (e: T) => void, reopen: () => void): void {
    const log = this.options.logger;
    state.call = call;
    let ended = false;
    call.on('metadata', () => {
      if (!state.connected) log.info('subscribed to agent stream', { stream: state.name, address: this.options.address });
      state.connected = true;
      state.backoffMs = this.options.initialBackoffMs ?? 200;
    });
    call.on('data', (e: T) => {
      state.connected = true;
      try {
        onData(e);
      } catch (err) {
        log.warn('agent event handler failed', { stream: state.name, error: err });
      }
    });
    const retry = (why: string) => {
      if (ended) return;
      ended = true;
      const was = state.connected;
      state.connected = false;
      if (this.stopped) return;
      const delay = state.backoffMs;
      state.backoffMs = Math.min(state.backoffMs * 2, this.options.maxBackoffMs ?? 5000);
      (was ? log.warn : log.debug).call(log, 'agent stream ended; reconnecting', { stream: state.name, reason: why, delayMs: delay });
      state.timer = setTimeout(reopen, delay);
    };
    call.on('error', (err: Error) => retry(err.message));
    call.on('end', () => retry('stream ended'));
  }
}
