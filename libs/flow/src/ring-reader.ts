// Reading the ring for one GetFlows / GetAgentEvents / GetDebugEvents request with
// upstream Hubble's number / first / follow / since / until semantics.
import { flow, nanosFromTimestamp, timestampNow, type Timestamp } from '@cilium-ts/api';
import type { HubbleEvent } from './events.js';
import type { RingBuffer } from './ring-buffer.js';

/** The request fields that select what to read. */
export interface ReadRequest {
  /** How many matching events: the last N (or the first N with `first`); 0 = see the docs of readEvents. */
  number: bigint;
  follow: boolean;
  first?: boolean;
  since?: Timestamp;
  until?: Timestamp;
}

/** How to read. */
export interface ReadOptions {
  /** Which events are counted and sent (lost events are always sent unless `includeLost` is false). */
  kind: 'flow' | 'agent' | 'debug';
  /** Extra condition on events of `kind` (the compiled flow filters); default: all. */
  matches?: (event: HubbleEvent) => boolean;
  /** Send lost events (buffered ones and "reader overtaken" ones); default true. */
  includeLost?: boolean;
  /** Stops the reader (also while it waits in follow mode). */
  signal?: AbortSignal;
  /** node_name for lost events the reader creates. */
  nodeName?: string;
  now?: () => Timestamp;
}

/** Raised for request fields that contradict each other. */
export class ReadRequestError extends Error {
  override readonly name = 'ReadRequestError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

const MIN_SECONDS = -62135596800n; // 0001-01-01T00:00:00Z
const MAX_SECONDS = 253402300799n; // 9999-12-31T23:59:59Z

function checkTimestamp(field: string, ts: Timestamp | undefined): void {
  if (ts === undefined) return;
  if (ts.seconds < MIN_SECONDS || ts.seconds > MAX_SECONDS || !Number.isInteger(ts.nanos) || ts.nanos < 0 || ts.nanos >= 1e9) {
    throw new ReadRequestError(
      field,
      `read events: invalid "${field}" timestamp {seconds: ${ts.seconds}, nanos: ${ts.nanos}}; seconds must be within years 1-9999 and nanos within 0-999999999`,
    );
  }
}

/**
 * Checks a request before reading: "first" excludes "follow"; since/until must be valid
 * Timestamps and since must not be after until. Throws ReadRequestError naming the field.
 */
export function validateReadRequest(req: ReadRequest): void {
  if (req.first && req.follow) throw new ReadRequestError('first', 'read events: "first" cannot be combined with "follow"; drop one of them');
  checkTimestamp('since', req.since);
  checkTimestamp('until', req.until);
  if (req.since && req.until && nanosFromTimestamp(req.since) > nanosFromTimestamp(req.until)) {
    throw new ReadRequestError('until', 'read events: "until" is before "since", so nothing can match; swap them or drop one');
  }
}

/** RingReader.next() result: caught up in follow mode; call wait() and try again. */
export const READER_WAIT: unique symbol = Symbol('ring-reader-wait');
/** RingReader.next() result: the read is over (done, `until` passed, or aborted). */
export const READER_END: unique symbol = Symbol('ring-reader-end');

/**
 * A synchronous cursor over the ring for one request, with the semantics documented on
 * readEvents. `next()` never blocks: it returns an event, READER_WAIT (follow mode, caught up:
 * await `wait()`), or READER_END. Servers pull batches from it without a promise per event.
 */
export class RingReader {
  private pos: number;
  private readonly end: number;
  private readonly limit: number;
  private readonly since: bigint | undefined;
  private readonly until: bigint | undefined;
  private readonly includeLost: boolean;
  private readonly stopAtLimit: boolean;
  private sent = 0;
  private done = false;

  /** Validates the request (throws ReadRequestError) and finds the start position. */
  constructor(
    private readonly ring: RingBuffer<HubbleEvent>,
    req: ReadRequest,
    private readonly opts: ReadOptions,
  ) {
    validateReadRequest(req);
    this.limit = req.number > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(req.number);
    this.since = req.since ? nanosFromTimestamp(req.since) : undefined;
    this.until = req.until ? nanosFromTimestamp(req.until) : undefined;
    this.includeLost = opts.includeLost ?? true;
    const head = ring.head;
    this.end = req.follow ? Infinity : head;
    this.stopAtLimit = !req.follow && this.limit > 0;
    this.pos = this.startPosition(req, head);
  }

  private counted(e: HubbleEvent): boolean {
    return e.kind === this.opts.kind && (this.opts.matches?.(e) ?? true);
  }

  private startPosition(req: ReadRequest, head: number): number {
    const ring = this.ring;
    if (req.first) return ring.oldest;
    if (req.follow && this.limit === 0 && this.since === undefined) return head;
    let count = 0;
    for (let seq = head - 1; seq >= ring.oldest; seq--) {
      const e = ring.read(seq);
      if (!e || !this.counted(e)) continue;
      if (this.since !== undefined) {
        if (nanosFromTimestamp(e.time) < this.since) return seq + 1;
      } else if (++count === this.limit) {
        return seq;
      }
    }
    return ring.oldest;
  }

  /** Sequence number of the next ring entry this reader looks at (how far behind the head it is). */
  get position(): number {
    return this.pos;
  }

  /** The next event to send, READER_WAIT, or READER_END. */
  next(): HubbleEvent | typeof READER_WAIT | typeof READER_END {
    const ring = this.ring;
    const opts = this.opts;
    for (;;) {
      if (this.done || opts.signal?.aborted) return READER_END;
      if (this.pos < ring.oldest) {
        const missed = ring.oldest - this.pos;
        this.pos = ring.oldest;
        if (this.includeLost) {
          return {
            kind: 'lost',
            time: (opts.now ?? timestampNow)(),
            nodeName: opts.nodeName ?? '',
            lost: flow.LostEvent.fromPartial({ source: flow.LostEventSource.HUBBLE_RING_BUFFER, numEventsLost: BigInt(missed) }),
          };
        }
        continue;
      }
      if (this.pos >= this.end) return this.finish();
      if (this.pos >= ring.head) return READER_WAIT;
      const e = ring.read(this.pos++);
      if (!e) continue;
      if (e.kind === 'lost') {
        if (this.includeLost) return e;
        continue;
      }
      if (e.kind !== opts.kind) continue;
      if (this.since !== undefined || this.until !== undefined) {
        const t = nanosFromTimestamp(e.time);
        if (this.since !== undefined && t < this.since) continue;
        if (this.until !== undefined && t > this.until) return this.finish();
      }
      if (!(opts.matches?.(e) ?? true)) continue;
      if (this.stopAtLimit && ++this.sent >= this.limit) this.done = true;
      return e;
    }
  }

  /** Resolves when new entries may be there (or the signal aborted); call after READER_WAIT. */
  wait(): Promise<void> {
    return this.ring.waitFor(this.pos, this.opts.signal);
  }

  private finish(): typeof READER_END {
    this.done = true;
    return READER_END;
  }
}

/**
 * Yields the events a request selects, oldest first:
 * - `follow` with `number` 0 and no `since` starts at the current end;
 * - `first` starts at the oldest entry and stops after `number` matches (not with `follow`);
 * - otherwise it walks back from the newest entry counting matches until `number` is
 *   reached (without `since`) or an entry older than `since` (with it), then reads forward.
 * Non-follow reads end at the head seen at the start or after `number` events; follow
 * reads wait for new entries until `signal` aborts. Entries older than `since` are skipped,
 * the first one newer than `until` ends the read. A reader overtaken by the writer yields a
 * lost event (HUBBLE_RING_BUFFER) counting the entries it missed. Throws ReadRequestError
 * (on the first `next()`) for an invalid request.
 */
export async function* readEvents(ring: RingBuffer<HubbleEvent>, req: ReadRequest, opts: ReadOptions): AsyncGenerator<HubbleEvent> {
  const reader = new RingReader(ring, req, opts);
  for (;;) {
    const e = reader.next();
    if (e === READER_END) return;
    if (e === READER_WAIT) {
      await reader.wait();
      continue;
    }
    yield e;
  }
}
