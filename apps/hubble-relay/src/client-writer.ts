// Writes the merged GetFlows stream to the relay's caller in batches. grpc-js sends each
// message through an object-mode Writable (16 messages of buffer), a serializer, a fresh
// 5-byte-prefixed copy and one HTTP/2 write, and reports back-pressure every 16 messages; at
// a hundred thousand flows a second that per-message path costs more than the rest of the
// relay. When the call is a plain grpc-js server call (no interceptors between it and its
// HTTP/2 stream), the writer frames messages itself into one buffer and writes that buffer
// to the call's HTTP/2 stream once per event-loop turn, with its own back-pressure bound; the
// call's headers and trailers are still sent by grpc-js (sendMetadata() / end()), so the
// stream keeps its order: headers, the frames, then the status.
import type { ServerHttp2Stream } from 'node:http2';
import { Metadata, type ServerWritableStream } from '@grpc/grpc-js';
import type { WireResponse } from './wire-response.js';

/** A batch is written once it holds this many bytes, even within one event-loop turn. */
export const BATCH_BYTES = 256 * 1024;

/** Largest buffer frames are copied into; batches are consecutive slices of one. */
export const SLAB_BYTES = 1024 * 1024;

/**
 * Size of a call's first buffer. Each buffer that fills up is followed by one twice its size,
 * up to SLAB_BYTES, so a busy stream soon writes from 1 MiB buffers while an idle follow
 * call (most of them) holds 16 KiB: with a 1 MiB buffer each, 200 idle `hubble observe -f`
 * callers held 200 MiB, and the process kept that memory after they left.
 */
export const FIRST_SLAB_BYTES = 16 * 1024;

/**
 * Bytes queued on the HTTP/2 stream above which the writer reports back-pressure (and the
 * peers are paused). 128 KiB measured worse end to end: the peers were paused more often,
 * their ring readers fell behind and the agents reported lost events.
 */
export const HIGH_WATER_BYTES = 1024 * 1024;

/** Messages queued in grpc-js above which the per-message fallback reports back-pressure. */
export const HIGH_WATER_MESSAGES = 1024;

/**
 * The HTTP/2 stream under a grpc-js server call, when grpc-js's BaseServerInterceptingCall
 * sits directly under it (no server interceptors); undefined otherwise (grpc-js internals
 * changed, or interceptors are installed), in which case the writer goes message by message.
 */
export function http2StreamOf(call: ServerWritableStream<unknown, unknown>): ServerHttp2Stream | undefined {
  const inner = (call as unknown as { call?: { stream?: unknown; sendMessage?: unknown } }).call;
  const stream = inner?.stream as Partial<ServerHttp2Stream> | undefined;
  if (stream === undefined || stream === null || typeof inner?.sendMessage !== 'function') return undefined;
  if (typeof stream.write !== 'function' || typeof stream.respond !== 'function' || typeof stream.once !== 'function') return undefined;
  return stream as ServerHttp2Stream;
}

/** ClientWriter sends WireResponses to one GetFlows caller, batched, and tracks back-pressure. */
export class ClientWriter {
  private readonly h2: ServerHttp2Stream | undefined;
  /** Slab the frames are written into; [start, used) is the batch not yet written. */
  private batch: Buffer;
  private start = 0;
  private used = 0;
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
    this.h2 = direct ? http2StreamOf(call as ServerWritableStream<unknown, unknown>) : undefined;
    this.batch = this.h2 ? Buffer.allocUnsafe(FIRST_SLAB_BYTES) : Buffer.alloc(0);
    // grpc-js sends the response headers before the first message it writes; frames written
    // past it need them sent first.
    if (this.h2) {
      call.sendMetadata(new Metadata());
      // grpc-js listens for no errors on the HTTP/2 stream itself; the call's end is seen
      // through grpc-js ('cancelled', 'close'), so errors of writes racing it are dropped here.
      this.h2.on('error', () => undefined);
    }
  }

  /** True when writes bypass grpc-js's per-message path. */
  get batched(): boolean {
    return this.h2 !== undefined;
  }

  /** True while the caller is not taking data as fast as it is written. */
  get backedUp(): boolean {
    return this.blocked;
  }

  /** write queues one response; it goes out with the batch at the end of this event-loop turn. */
  write(resp: WireResponse): void {
    if (this.closed) return;
    this.written++;
    if (this.h2 === undefined) {
      if (this.call.writableEnded) return;
      this.call.write(resp);
      if (!this.blocked && this.call.writableLength >= HIGH_WATER_MESSAGES) this.block(() => this.call.once('drain', () => this.unblock()));
      return;
    }
    const bytes = resp.wire;
    const need = bytes.length + 5;
    if (this.used + need > this.batch.length) {
      // The slab is full: write what it holds and continue in a fresh one, twice as large.
      this.flush();
      this.batch = Buffer.allocUnsafe(Math.max(need, Math.min(SLAB_BYTES, this.batch.length * 2)));
      this.start = 0;
      this.used = 0;
    }
    const b = this.batch;
    const at = this.used;
    b[at] = 0;
    b.writeUInt32BE(bytes.length, at + 1);
    b.set(bytes, at + 5);
    this.used = at + need;
    if (this.used - this.start >= BATCH_BYTES) this.flush();
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
    const h2 = this.h2;
    if (h2 === undefined || this.used === this.start || this.closed) return;
    // The bytes written stay untouched: the next batch goes after them in the same slab.
    const out = this.batch.subarray(this.start, this.used);
    this.start = this.used;
    if (h2.destroyed || h2.closed || h2.writableEnded) return;
    h2.write(out);
    if (!this.blocked && h2.writableLength >= HIGH_WATER_BYTES) this.block(() => h2.once('drain', () => this.unblock()));
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
    this.start = this.used;
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
