/**
 * Fans datapath events (raw ring-buffer records) and agent events out to monitor
 * subscribers (hubble-server, `cilium monitor`). Each subscriber has a bounded queue:
 * a slow subscriber loses events (counted and reported to it as `lost`), it never
 * slows the datapath reader or other subscribers.
 *
 * A batching subscriber (filter.batch) gets consecutive datapath records as one `batch`
 * delivery: a batch is flushed when it holds `batchRecords` records, `batchFlushMs` after
 * its first record, before any agent or lost event (order holds), and when the sink drains
 * after back-pressure. Queue bound and lost counting are per record either way.
 */

/** One event as published to the hub. */
export type HubEvent =
  | { kind: 'datapath'; timeNs: bigint; record: Buffer; type: number }
  | { kind: 'agent'; timeNs: bigint; type: number; json: string }
  | { kind: 'lost'; timeNs: bigint; count: number };

/** Consecutive datapath records delivered at once to a batching subscriber. */
export interface HubBatch {
  kind: 'batch';
  records: Buffer[];
  /** Stamp of each record, same length and order as `records`. */
  timesNs: bigint[];
}

/** What a sink receives: single events, and batches when it asked for them. */
export type DeliveredEvent = HubEvent | HubBatch;

/** What a subscriber wants. */
export interface SubscriberFilter {
  /** Datapath event types wanted; empty = all. */
  types: number[];
  agentEvents: boolean;
  /** Deliver datapath records in batches (HubBatch). */
  batch?: boolean;
}

/** A sink that accepts events; returns false when it wants no more until `resume`. */
export interface SubscriberSink {
  write(ev: DeliveredEvent): boolean;
}

/** Default queue length per subscriber (events; a batch counts its records). */
export const DEFAULT_QUEUE_LENGTH = 16384;
/** Default largest batch, in records. */
export const DEFAULT_BATCH_RECORDS = 256;
/** Default time a batch may wait for more records after its first one. */
export const DEFAULT_BATCH_FLUSH_MS = 2;

/** Tuning of a MonitorHub (all optional). */
export interface MonitorHubOptions {
  queueLength?: number;
  batchRecords?: number;
  batchFlushMs?: number;
}

/** One subscriber: filter, bounded queue, lost counter, and the batch being filled. */
export class Subscription {
  private queue: HubEvent[] = [];
  private head = 0;
  private paused = false;
  private lost = 0;
  private batchRecords: Buffer[] = [];
  private batchTimes: bigint[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly maxQueue: number;
  private readonly maxBatch: number;
  private readonly flushMs: number;
  closed = false;

  constructor(
    readonly filter: SubscriberFilter,
    private readonly sink: SubscriberSink,
    private readonly nowNs: () => bigint,
    options: MonitorHubOptions = {},
  ) {
    this.maxQueue = options.queueLength ?? DEFAULT_QUEUE_LENGTH;
    this.maxBatch = Math.max(1, options.batchRecords ?? DEFAULT_BATCH_RECORDS);
    this.flushMs = options.batchFlushMs ?? DEFAULT_BATCH_FLUSH_MS;
  }

  /** Whether this subscriber wants the event. */
  wants(ev: HubEvent): boolean {
    if (ev.kind === 'agent') return this.filter.agentEvents;
    if (ev.kind === 'datapath') return this.filter.types.length === 0 || this.filter.types.includes(ev.type);
    return true;
  }

  /** Queues, batches or writes one event. */
  offer(ev: HubEvent): void {
    if (this.closed) return;
    if (this.paused) {
      if (this.queue.length - this.head >= this.maxQueue) this.lost++;
      else this.queue.push(ev);
      return;
    }
    this.flushLost();
    // Not paused means the queue is empty, so queueing here keeps the order.
    if (this.paused || !this.deliver(ev)) this.queue.push(ev);
  }

  /** The sink can take more: flush the queue, then whatever batch is held. */
  resume(): void {
    if (this.closed) return;
    this.paused = false;
    this.flushLost();
    while (!this.paused && this.head < this.queue.length) {
      if (!this.deliver(this.queue[this.head]!)) break;
      this.head++;
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head >= 1024) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    if (!this.paused) this.flushBatch();
  }

  /** Drops what is held and stops the flush timer. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.queue = [];
    this.head = 0;
    this.batchRecords = [];
    this.batchTimes = [];
  }

  /** Hands one event on while not paused; false if it was not taken (the sink paused first). */
  private deliver(ev: HubEvent): boolean {
    if (!this.filter.batch) {
      if (!this.sink.write(ev)) this.paused = true;
      return true;
    }
    if (ev.kind === 'datapath') {
      this.batchRecords.push(ev.record);
      this.batchTimes.push(ev.timeNs);
      if (this.batchRecords.length >= this.maxBatch) this.flushBatch();
      else if (this.timer === undefined) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          if (!this.closed) this.flushBatch();
        }, this.flushMs);
        this.timer.unref();
      }
      return true;
    }
    this.flushBatch();
    if (this.paused) return false;
    if (!this.sink.write(ev)) this.paused = true;
    return true;
  }

  private flushBatch(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.batchRecords.length === 0) return;
    const batch: HubBatch = { kind: 'batch', records: this.batchRecords, timesNs: this.batchTimes };
    this.batchRecords = [];
    this.batchTimes = [];
    if (!this.sink.write(batch)) this.paused = true;
  }

  private flushLost(): void {
    if (this.lost === 0 || this.paused) return;
    this.flushBatch();
    if (this.paused) return;
    const count = this.lost;
    this.lost = 0;
    if (!this.sink.write({ kind: 'lost', timeNs: this.nowNs(), count })) this.paused = true;
  }
}

/** The agent's event hub. */
export class MonitorHub {
  private readonly subs = new Set<Subscription>();

  constructor(
    private readonly nowNs: () => bigint,
    private readonly options: MonitorHubOptions = {},
  ) {}

  /** Number of current subscribers. */
  get size(): number {
    return this.subs.size;
  }

  /** Adds a subscriber; call `unsubscribe` when its stream ends. */
  subscribe(filter: SubscriberFilter, sink: SubscriberSink): Subscription {
    const s = new Subscription(filter, sink, this.nowNs, this.options);
    this.subs.add(s);
    return s;
  }

  /** Removes a subscriber and drops what it still held. */
  unsubscribe(s: Subscription): void {
    s.close();
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
