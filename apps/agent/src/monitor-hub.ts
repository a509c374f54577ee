/**
 * Fans datapath events (raw ring-buffer records) and agent events out to monitor
 * subscribers (hubble-server, `cilium monitor`). Each subscriber has a bounded queue:
 * a slow subscriber loses events (counted and reported to it as `lost`), it never
 * slows the datapath reader or other subscribers.
 */

/** One event as delivered to subscribers. */
export type HubEvent =
  | { kind: 'datapath'; timeNs: bigint; record: Buffer; type: number }
  | { kind: 'agent'; timeNs: bigint; type: number; json: string }
  | { kind: 'lost'; timeNs: bigint; count: number };

/** What a subscriber wants. */
export interface SubscriberFilter {
  /** Datapath event types wanted; empty = all. */
  types: number[];
  agentEvents: boolean;
}

/** A sink that accepts events; returns false when it wants no more until `resume`. */
export interface SubscriberSink {
  write(ev: HubEvent): boolean;
}

/** Default queue length per subscriber. */
export const DEFAULT_QUEUE_LENGTH = 16384;

/** One subscriber: filter, bounded queue, lost counter. */
export class Subscription {
  private readonly queue: HubEvent[] = [];
  private paused = false;
  private lost = 0;
  closed = false;

  constructor(
    readonly filter: SubscriberFilter,
    private readonly sink: SubscriberSink,
    private readonly nowNs: () => bigint,
    private readonly maxQueue = DEFAULT_QUEUE_LENGTH,
  ) {}

  /** Whether this subscriber wants the event. */
  wants(ev: HubEvent): boolean {
    if (ev.kind === 'agent') return this.filter.agentEvents;
    if (ev.kind === 'datapath') return this.filter.types.length === 0 || this.filter.types.includes(ev.type);
    return true;
  }

  /** Queues or writes one event. */
  offer(ev: HubEvent): void {
    if (this.closed) return;
    if (this.paused) {
      if (this.queue.length >= this.maxQueue) this.lost++;
      else this.queue.push(ev);
      return;
    }
    this.flushLost();
    if (!this.sink.write(ev)) this.paused = true;
  }

  /** The sink can take more: flush the queue. */
  resume(): void {
    this.paused = false;
    this.flushLost();
    while (!this.paused && this.queue.length > 0) {
      if (!this.sink.write(this.queue.shift()!)) this.paused = true;
    }
  }

  private flushLost(): void {
    if (this.lost === 0 || this.paused) return;
    const count = this.lost;
    this.lost = 0;
    if (!this.sink.write({ kind: 'lost', timeNs: this.nowNs(), count })) this.paused = true;
  }
}

/** The agent's event hub. */
export class MonitorHub {
  private readonly subs = new Set<Subscription>();

  constructor(private readonly nowNs: () => bigint) {}

  /** Number of current subscribers. */
  get size(): number {
    return this.subs.size;
  }

  /** Adds a subscriber; call `unsubscribe` when its stream ends. */
  subscribe(filter: SubscriberFilter, sink: SubscriberSink): Subscription {
    const s = new Subscription(filter, sink, this.nowNs);
    this.subs.add(s);
    return s;
  }

  /** Removes a subscriber. */
  unsubscribe(s: Subscription): void {
    s.closed = true;
    this.subs.delete(s);
  }

  /** Publishes one event to every subscriber that wants it. */
  publish(ev: HubEvent): void {
    for (const s of this.subs) if (s.wants(ev)) s.offer(ev);
  }

  /** Publishes an agent event (flow.AgentEventType number + JSON details). */
  publishAgent(type: number, details: unknown): void {
    this.publish({ kind: 'agent', timeNs: this.nowNs(), type, json: JSON.stringify(details) });
  }
}
