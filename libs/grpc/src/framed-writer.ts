// Many gRPC messages per HTTP/2 write, for the server streams that send the most messages
// (hubble-server's GetFlows, hubble-relay's merged GetFlows). grpc-js sends each message
// through an object-mode Writable step, an interceptor step, a copy into a new framed buffer
// and one HTTP/2 stream write (and usually one DATA frame), which cost more than making the
// message. This writer appends the length-prefixed frames of pre-encoded messages to a buffer
// and hands them to the call's HTTP/2 stream in one write; the client sees the same byte stream
// (gRPC frames need not line up with DATA frames). Trailers (the status) still come from
// grpc-js's `call.end()`, after everything written here.
//
// This is the only code in cilium-ts that reaches into grpc-js internals: the server call's
// BaseServerInterceptingCall (`call.call`, grpc-js 1.14) for its HTTP/2 stream (`stream`) and
// its header sending (`maybeSendMetadata()`). They are checked at attach time; where they are
// missing (another grpc-js version, an interceptor in between) `attach` returns undefined and
// callers write message by message through grpc-js. framed-writer.test.ts fails when a grpc-js
// upgrade removes them, so that the fallback is never taken silently.
import type { ServerHttp2Stream } from 'node:http2';
import type { ServerWritableStream } from '@grpc/grpc-js';

/**
 * Size of a call's first buffer. Each buffer that fills up is followed by one twice its size,
 * up to FRAMED_MAX_BUFFER_BYTES: busy streams soon batch into 1 MiB buffers while an idle
 * follow stream holds 16 KiB (a 1 MiB buffer per call made 200 idle relay callers hold 200 MiB).
 */
export const FRAMED_FIRST_BUFFER_BYTES = 16 * 1024;

/** Largest buffer frames are gathered in (a single larger message gets a buffer of its own size). */
export const FRAMED_MAX_BUFFER_BYTES = 1024 * 1024;

/** Default size at which push() asks for a flush (a few HTTP/2 DATA frames of 16 KiB). */
export const FRAMED_BATCH_BYTES = 32 * 1024;

/** The part of grpc-js's BaseServerInterceptingCall this writer uses. */
interface BaseCallInternals {
  stream: ServerHttp2Stream;
  maybeSendMetadata(): void;
}

/**
 * grpcCallInternals returns the grpc-js internals of a server call that FramedWriter needs,
 * or undefined when they are not there (see the file comment).
 */
export function grpcCallInternals(call: ServerWritableStream<unknown, unknown>): BaseCallInternals | undefined {
  const base = (call as unknown as { call?: Partial<BaseCallInternals> | null }).call;
  if (base === undefined || base === null || typeof base.maybeSendMetadata !== 'function') return undefined;
  const stream = base.stream;
  if (stream === undefined || stream === null || typeof stream.write !== 'function' || typeof stream.once !== 'function') return undefined;
  return base as BaseCallInternals;
}

/** Options of a FramedWriter. */
export interface FramedWriterOptions {
  /** push() returns false once this many bytes are gathered (default FRAMED_BATCH_BYTES). */
  batchBytes?: number;
}

/** Writes length-prefixed gRPC frames of pre-encoded messages to a call's HTTP/2 stream in batches. */
export class FramedWriter {
  /** Buffer frames are gathered in; [start, used) is the batch not written yet. */
  private buffer: Buffer;
  private start = 0;
  private used = 0;

  private constructor(
    private readonly base: BaseCallInternals,
    private readonly batchBytes: number,
  ) {
    this.buffer = Buffer.allocUnsafe(FRAMED_FIRST_BUFFER_BYTES);
    // grpc-js listens for one 'error' only; a failed write of ours may emit another. The
    // 'close' that follows every error ends the call (grpc-js reports it as cancelled).
    base.stream.on('error', () => undefined);
  }

  /** A writer for `call`, or undefined when grpc-js's internals are not what this writer expects. */
  static attach(call: ServerWritableStream<unknown, unknown>, opts: FramedWriterOptions = {}): FramedWriter | undefined {
    const base = grpcCallInternals(call);
    return base ? new FramedWriter(base, opts.batchBytes ?? FRAMED_BATCH_BYTES) : undefined;
  }

  /** Bytes gathered and not written yet. */
  get pending(): number {
    return this.used - this.start;
  }

  /** Bytes written to the HTTP/2 stream that it has not sent yet. */
  get queued(): number {
    return this.base.stream.writableLength;
  }

  /** Whether the HTTP/2 stream is gone (client cancelled, connection lost, call ended). */
  get closed(): boolean {
    const s = this.base.stream;
    return s.destroyed || s.closed || s.writableEnded;
  }

  /**
   * Appends one message as a gRPC frame. Returns false once the batch holds the batch size or
   * more: the caller flushes then (and honours flush()'s back-pressure). Never writes itself.
   */
  push(message: Uint8Array): boolean {
    const need = 5 + message.length;
    if (this.used + need > this.buffer.length) {
      // The buffer is full: the gathered batch moves to a fresh buffer twice as large (bytes
      // already written stay where they are: the stream still holds them).
      const size = Math.max(this.used - this.start + need, Math.min(FRAMED_MAX_BUFFER_BYTES, this.buffer.length * 2));
      const next = Buffer.allocUnsafe(size);
      this.buffer.copy(next, 0, this.start, this.used);
      this.used -= this.start;
      this.start = 0;
      this.buffer = next;
    }
    const b = this.buffer;
    const at = this.used;
    b[at] = 0;
    b.writeUInt32BE(message.length, at + 1);
    b.set(message, at + 5);
    this.used = at + need;
    return this.used - this.start < this.batchBytes;
  }

  /** Writes what was gathered (sending the response headers first); false when the stream's buffer is full (await drained()). */
  flush(): boolean {
    const stream = this.base.stream;
    if (this.used === this.start) return stream.writableNeedDrain !== true;
    // The bytes written stay untouched: the next batch goes after them in the same buffer.
    const out = this.buffer.subarray(this.start, this.used);
    this.start = this.used;
    if (this.closed) return true;
    this.base.maybeSendMetadata();
    return stream.write(out);
  }

  /** Drops what was gathered and not written (the call is being abandoned). */
  discard(): void {
    this.start = this.used;
  }

  /** Resolves when the stream's buffer drained, the stream closed, or `signal` aborted. */
  drained(signal?: AbortSignal): Promise<void> {
    const stream = this.base.stream;
    if (this.closed || signal?.aborted || stream.writableNeedDrain !== true) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        stream.off('drain', done);
        stream.off('close', done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      stream.on('drain', done);
      stream.on('close', done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** Calls `listener` once when the stream's buffer has drained (or the stream closed). */
  onceDrained(listener: () => void): void {
    const stream = this.base.stream;
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      listener();
    };
    stream.on('drain', done);
    stream.on('close', done);
  }
}
