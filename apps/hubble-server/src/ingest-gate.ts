// Back-pressure from the ring's readers to the agent stream. With batched monitor events
// ingest is cheap enough to outrun the streams that send flows to clients; without a brake
// the writer overtakes its own followers and they lose flows (HUBBLE_RING_BUFFER) while
// the agent could have waited. The gate closes while a reader lags more than `maxLag`
// entries, so the agent stream pauses (and the agent queues, then counts its own losses).
// A lagging reader that makes no progress for `maxStallMs` (a stuck client) stops counting
// until it catches up: it loses flows, as upstream, instead of stalling everyone. A reader
// that lags but keeps moving (a slower consumer such as a busy relay) keeps the brake on, so
// it is slowed down rather than overrun, for at most `maxHoldMs` of lagging in a row.
// The gate reopens on events, not on a polling timer: the streams report progress after
// every batch they send, and a timer fires only when a lagging reader's stall time runs out.
import type { HubbleEvent, RingBuffer, RingReader } from '@cilium-ts/flow';

/** Default lag (entries) above which ingest pauses (512 measured lower latency than 2048 at the same rate: two batches in flight). */
export const DEFAULT_MAX_READER_LAG = 512;
/** Default time a lagging reader may hold ingest back before it is left to lose flows. */
export const DEFAULT_MAX_STALL_MS = 250;
/** Default time a lagging reader that keeps moving may hold ingest back before it is left to lose flows. */
export const DEFAULT_MAX_HOLD_MS = 1000;

/** What a paused reader of the agent stream needs: whether it may read on, and a call when it may. */
export interface ReadGate {
  open(): boolean;
  /** Calls `resume` once, as soon as the gate is open (it is closed now). */
  whenOpen(resume: () => void): void;
}

/** Decides whether the server may ingest more monitor events. */
export class IngestGate implements ReadGate {
  /**
   * Reader -> when it started lagging (ms, 0 while it keeps up), when it last moved while
   * lagging, and its position then.
   */
  private readonly readers = new Map<RingReader, { lagging: number; since: number; position: number }>();
  private readonly maxLag: number;
  private resumes: (() => void)[] = [];
  private stallTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ring: RingBuffer<HubbleEvent>,
    maxLag = DEFAULT_MAX_READER_LAG,
    private readonly maxStallMs = DEFAULT_MAX_STALL_MS,
    private readonly nowMs: () => number = () => performance.now(),
    private readonly maxHoldMs = DEFAULT_MAX_HOLD_MS,
  ) {
    // Never more than half the ring: the brake must act before readers are overtaken.
    this.maxLag = Math.max(1, Math.min(maxLag, Math.floor(ring.capacity / 2)));
  }

  /** Number of readers counted. */
  get size(): number {
    return this.readers.size;
  }

  /** Starts counting a reader (a GetFlows / GetAgentEvents stream). */
  add(reader: RingReader): void {
    this.readers.set(reader, { lagging: 0, since: 0, position: reader.position });
  }

  /** Stops counting a reader (its stream ended). */
  delete(reader: RingReader): void {
    this.readers.delete(reader);
    this.progress();
  }

  /** Calls `resume` once, as soon as the gate is open (at once when it is open now). */
  whenOpen(resume: () => void): void {
    if (this.open()) {
      resume();
      return;
    }
    this.resumes.push(resume);
    this.armStallTimer();
  }

  /** A reader moved on (its stream sent a batch): wakes whoever waits for the gate if it is open now. */
  progress(): void {
    if (this.resumes.length === 0 || !this.open()) return;
    clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
    const wake = this.resumes;
    this.resumes = [];
    for (const r of wake) r();
  }

  /** Re-checks when the earliest lagging reader's stall time runs out (it may then be left behind). */
  private armStallTimer(): void {
    if (this.stallTimer !== undefined) return;
    let earliest = Infinity;
    for (const { lagging, since } of this.readers.values()) {
      if (lagging !== 0) earliest = Math.min(earliest, since + this.maxStallMs, lagging + this.maxHoldMs);
    }
    if (earliest === Infinity) return;
    const delay = Math.max(1, Math.ceil(earliest - this.nowMs()) + 1);
    this.stallTimer = setTimeout(() => {
      this.stallTimer = undefined;
      this.progress();
      if (this.resumes.length > 0) this.armStallTimer();
    }, delay);
  }

  /**
   * Whether ingest may go on: no reader lags more than maxLag, except ones without progress for
   * maxStallMs or lagging for maxHoldMs in a row.
   */
  open(): boolean {
    if (this.readers.size === 0) return true;
    const head = this.ring.head;
    let open = true;
    let now: number | undefined;
    for (const [reader, state] of this.readers) {
      const position = reader.position;
      if (head - position <= this.maxLag) {
        state.lagging = 0;
        continue;
      }
      now ??= this.nowMs();
      if (state.lagging === 0) {
        state.lagging = now;
        state.since = now;
        state.position = position;
        open = false;
        continue;
      }
      if (position !== state.position) {
        // Lagging but moving: the stall clock restarts.
        state.since = now;
        state.position = position;
      }
      if (now - state.since < this.maxStallMs && now - state.lagging < this.maxHoldMs) open = false;
    }
    return open;
  }
}
