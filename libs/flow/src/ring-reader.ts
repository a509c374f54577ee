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

/**
 * Yields the events a request selects, oldest first:
 * - `follow` with `number` 0 and no `since` starts at the current end;
 * - `first` starts at the oldest entry and stops after `number` matches (not with `follow`);
 * - otherwise it walks back from the newest entry counting matches until `number` is
 *   reached (without `since`) or an entry older than `since` (with it), then reads forward.
 * Non-follow reads end at the head seen at the start or after `number` events; follow
 * reads wait for new entries until `signal` aborts. Entries older than `since` are skipped,
 * the first one newer than `until` ends the read. A reader overtaken by the writer yields a
 * lost event (HUBBLE_RING_BUFFER) counting the entries it missed.
 */
export async function* readEvents(ring: RingBuffer<HubbleEvent>, req: ReadRequest, opts: ReadOptions): AsyncGenerator<HubbleEvent> {
  validateReadRequest(req);
  const limit = req.number > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(req.number);
  const since = req.since ? nanosFromTimestamp(req.since) : undefined;
  const until = req.until ? nanosFromTimestamp(req.until) : undefined;
  const includeLost = opts.includeLost ?? true;
  const counted = (e: HubbleEvent) => e.kind === opts.kind && (opts.matches?.(e) ?? true);
  const head = ring.head;
  let start: number;
  if (req.first) {
    start = ring.oldest;
  } else if (req.follow && limit === 0 && since === undefined) {
    start = head;
  } else {
    start = ring.oldest;
    let count = 0;
    for (let seq = head - 1; seq >= ring.oldest; seq--) {
      const e = ring.read(seq);
      if (!e || !counted(e)) continue;
      if (since !== undefined) {
        if (nanosFromTimestamp(e.time) < since) {
          start = seq + 1;
          break;
        }
      } else if (++count === limit) {
        start = seq;
        break;
      }
    }
  }
  const end = req.follow ? Infinity : head;
  const stopAtLimit = !req.follow && limit > 0;
  let pos = start;
  let sent = 0;
  while (!opts.signal?.aborted) {
    if (pos < ring.oldest) {
      const missed = ring.oldest - pos;
      pos = ring.oldest;
      if (includeLost) {
        yield {
          kind: 'lost',
          time: (opts.now ?? timestampNow)(),
          nodeName: opts.nodeName ?? '',
          lost: flow.LostEvent.fromPartial({ source: flow.LostEventSource.HUBBLE_RING_BUFFER, numEventsLost: BigInt(missed) }),
        };
      }
      continue;
    }
    if (pos >= end) return;
    if (pos >= ring.head) {
      await ring.waitFor(pos, opts.signal);
      continue;
    }
    const e = ring.read(pos++);
    if (!e) continue;
    if (e.kind === 'lost') {
      if (includeLost) yield e;
      continue;
    }
    if (e.kind !== opts.kind) continue;
    const t = nanosFromTimestamp(e.time);
    if (since !== undefined && t < since) continue;
    if (until !== undefined && t > until) return;
    if (!(opts.matches?.(e) ?? true)) continue;
    yield e;
    if (stopAtLimit && ++sent >= limit) return;
  }
}
