// Bounded hand-over of flows to one page: flows are queued and flushed as one batch per
// interval; a queue past its cap drops the oldest flows (counted, and the page told how
// many), and a page whose connection is still full from the last batch gets nothing new
// until it drains (the queue keeps filling and dropping meanwhile). Memory per page is thus
// at most `maxQueued` flows plus one batch in the socket.
import type { FlowView } from './flow-view.js';

/** FlowBatcherOptions size the queue of one page. */
export interface FlowBatcherOptions {
  /** Most flows held for the next batch; older ones are dropped past it. */
  maxQueued: number;
  /** Flush interval in milliseconds. */
  intervalMs: number;
  /** Writes one batch; returns false when the connection is full (wait for `drained()`). */
  write: (flows: FlowView[], dropped: number) => boolean;
}

/** FlowBatcher queues flows for one page and flushes them in bounded batches. */
export class FlowBatcher {
  private queue: FlowView[] = [];
  private head = 0;
  private droppedSinceFlush = 0;
  private totalDropped = 0;
  private blocked = false;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly opts: FlowBatcherOptions) {
    this.timer = setInterval(() => this.flush(), opts.intervalMs);
    this.timer.unref();
  }

  /** Flows dropped for this page since it connected. */
  get dropped(): number {
    return this.totalDropped;
  }

  /** Flows waiting for the next batch. */
  get queued(): number {
    return this.queue.length - this.head;
  }

  /** push queues one flow, dropping the oldest queued one when full. */
  push(f: FlowView): void {
    if (this.queued >= this.opts.maxQueued) {
      this.head++;
      this.droppedSinceFlush++;
      this.totalDropped++;
      if (this.head > this.opts.maxQueued) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
    }
    this.queue.push(f);
  }

  /** drained tells the batcher the connection can take more. */
  drained(): void {
    this.blocked = false;
  }

  /** flush sends what is queued now (also called by the interval). */
  flush(): void {
    if (this.blocked || (this.queued === 0 && this.droppedSinceFlush === 0)) return;
    const batch = this.head === 0 ? this.queue : this.queue.slice(this.head);
    const dropped = this.droppedSinceFlush;
    this.queue = [];
    this.head = 0;
    this.droppedSinceFlush = 0;
    if (!this.opts.write(batch, dropped)) this.blocked = true;
  }

  /** close stops the interval. */
  close(): void {
    clearInterval(this.timer);
    this.queue = [];
    this.head = 0;
  }
}
