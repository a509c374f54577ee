// Writes the merged GetFlows stream to the relay's caller in batches. grpc-js sends each
// message through its per-message write path (object-mode Writable with a 16-message buffer,
// serializer, a copy and one HTTP/2 write each, back-pressure every 16 messages); at a hundred
// thousand flows a second that costs more than the rest of the relay. When the call is a
// plain grpc-js server call (FramedWriter from libs/grpc attaches), the messages are framed
// into one buffer and written to the call's HTTP/2 stream once per event-loop turn (or per
// BATCH_BYTES), with the relay's own back-pressure bound; the call's headers and trailers are
// still sent by grpc-js (sendMetadata() / end()), so the stream keeps its order: headers, the
// frames, then the status. Otherwise it writes message by message through grpc-js.
import { FramedWriter } from '@cilium-ts/grpc';
import { Metadata, type ServerWritableStream } from '@grpc/grpc-js';
import type { WireResponse } from './wire-response.js';

/** A batch is written once it holds this many bytes, even within one event-loop turn. */
export const BATCH_BYTES = 256 * 1024;

/**
 * Bytes queued on the HTTP/2 stream above which the writer reports back-pressure (and the
 * peers are paused). 128 KiB measured worse end to end: the peers were paused more often,
 * their ring readers fell behind and the agents reported lost events.
 */
export const HIGH_WATER_BYTES = 1024 * 1024;

/** Messages queued in grpc-js above which the per-message fallback reports back-pressure. */
export const HIGH_WATER_MESSAGES = 1024;

/** ClientWriter sends WireResponses to one GetFlows caller, batched, and tracks back-pressure. */
export class ClientWriter {
  private readonly framed: FramedWriter | undefined;
  private scheduled = false;
  private blocked = false;
  private closed = false;
  /** Messages written so far. */
  written = 0;

  constructor(
    private readonly call: ServerWritableStream<unknown, WireResponse>,
    /** Called when the caller stops taking data (pause the sources) and when it takes data again. */
    private readonly onBackpressure: (blocked: boolean) => void,
    direct = true,
  ) {
    this.framed = direct ? FramedWriter.attach(call as ServerWritableStream<unknown, unknown>, { batchBytes: BATCH_BYTES }) : undefined;
    // The caller gets the response headers at once, before the first message.
    if (this.framed) call.sendMetadata(new Metadata());
  }

  /** True when writes bypass grpc-js's per-message path. */
  get batched(): boolean {
    return this.framed !== undefined;
  }

  /** True while the caller is not taking data as fast as it is written. */
  get backedUp(): boolean {
    return this.blocked;
  }

  /** write queues one response; it goes out with the batch at the end of this event-loop turn. */
  write(resp: WireResponse): void {
    if (this.closed) return;
    this.written++;
    const framed = this.framed;
    if (framed === undefined) {
      if (this.call.writableEnded) return;
      this.call.write(resp);
      if (!this.blocked && this.call.writableLength >= HIGH_WATER_MESSAGES) this.block(() => this.call.once('drain', () => this.unblock()));
      return;
    }
    if (!framed.push(resp.wire)) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushLater);
    }
  }

  private readonly flushLater = (): void => {
    this.scheduled = false;
    this.flush();
  };

  /** flush writes the current batch now. */
  flush(): void {
    const framed = this.framed;
    if (framed === undefined || this.closed || framed.pending === 0) return;
    framed.flush();
    if (!this.blocked && framed.queued >= HIGH_WATER_BYTES) this.block(() => framed.onceDrained(() => this.unblock()));
  }

  /** end flushes what is queued and ends the call with OK (grpc-js sends the trailers). */
  end(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.call.end();
  }

  /** close drops what is queued (the call was cancelled). */
  close(): void {
    this.closed = true;
    this.framed?.discard();
  }

  private block(waitForDrain: () => void): void {
    this.blocked = true;
    waitForDrain();
    this.onBackpressure(true);
  }

  private unblock(): void {
    if (!this.blocked) return;
    this.blocked = false;
    if (!this.closed) this.onBackpressure(false);
  }
}
