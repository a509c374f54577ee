// Datapath event stream: records of the shared ring buffer `events`, read by a worker
// thread (ring-buffer-worker.ts) and emitted on the main thread.
import { EventEmitter } from 'node:events';
import { Worker } from 'node:worker_threads';
import { BpfError } from './errors.js';
import type { RingBufferWorkerData, RingBufferWorkerMessage } from './ring-buffer-worker.js';

/** Options of an EventReader. */
export interface EventReaderOptions {
  /** Pin of the ring buffer map. */
  eventsPin: string;
  /** Pin of the per-CPU events_lost counter. */
  lostPin: string;
  /** How long one poll blocks the worker, which bounds how long close() takes (default 100 ms). */
  pollMs?: number;
}

/**
 * Emits 'event' (record: Buffer, the 48-byte header + cap_len packet bytes of
 * docs/CONTRACTS.md), 'lost' (count: number, records the kernel could not queue),
 * 'ready' once the worker is polling, and 'error' (Error).
 */
export class EventReader extends EventEmitter {
  private readonly worker: Worker;
  private readonly stop = new SharedArrayBuffer(4);
  private readonly exited: Promise<void>;
  private readyPromise: Promise<void>;
  private closed = false;

  constructor(opts: EventReaderOptions) {
    super();
    const workerData: RingBufferWorkerData = { eventsPin: opts.eventsPin, lostPin: opts.lostPin, stop: this.stop, pollMs: opts.pollMs ?? 100 };
    this.worker = new Worker(new URL('./ring-buffer-worker.js', import.meta.url), { workerData });
    let readyResolve!: () => void;
    let readyReject!: (e: Error) => void;
    this.readyPromise = new Promise<void>((res, rej) => { readyResolve = res; readyReject = rej; });
    this.readyPromise.catch(() => undefined);
    this.worker.on('message', (msg: RingBufferWorkerMessage) => {
      switch (msg.kind) {
        case 'ready': readyResolve(); this.emit('ready'); break;
        case 'records': for (const r of msg.records) this.emit('event', Buffer.from(r.buffer, r.byteOffset, r.byteLength)); break;
        case 'lost': this.emit('lost', msg.count); break;
        case 'error': {
          const err = new BpfError(msg.operation ?? 'read ring buffer "events"', msg.code === 'ENOENT' ? 2 : 5, { detail: msg.message });
          readyReject(err);
          if (this.listenerCount('error') > 0) this.emit('error', err);
          break;
        }
      }
    });
    this.exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.on('error', (err) => {
      readyReject(err);
      if (this.listenerCount('error') > 0) this.emit('error', err);
    });
  }

  /** Resolves once the worker polls the ring buffer (rejects if it could not start). */
  ready(): Promise<void> {
    return this.readyPromise;
  }

  /** Stops the worker; resolves when it has exited (within one poll interval). */
  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      Atomics.store(new Int32Array(this.stop), 0, 1);
    }
    return this.exited;
  }
}
