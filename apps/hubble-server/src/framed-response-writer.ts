// Many gRPC messages per HTTP/2 write for GetFlows. grpc-js sends one message per
// `call.write`: an object-mode Writable step, an interceptor step, a copy into a new framed
// buffer and one HTTP/2 stream write (and usually one DATA frame) each, which cost more than
// making the flow. This writer appends the length-prefixed frames of pre-encoded messages to
// one buffer and hands it to the call's HTTP/2 stream in one write; the client sees the same
// byte stream (gRPC frames need not line up with DATA frames). It reaches the stream through
// grpc-js's call internals (BaseServerInterceptingCall.stream, maybeSendMetadata), checked at
// attach time: where they are missing (another grpc-js version, an interceptor in between),
// `attach` returns undefined and the caller writes message by message as before. Trailers
// (the status) still come from grpc-js's `call.end()`, after everything written here.
import type { ServerHttp2Stream } from 'node:http2';
import type { ServerWritableStream } from '@grpc/grpc-js';

/** Bytes gathered before a write goes out on its own (a few HTTP/2 DATA frames of 16 KiB). */
export const FRAMED_BATCH_BYTES = 32 * 1024;

/** The part of grpc-js's BaseServerInterceptingCall this writer uses. */
interface BaseCallInternals {
  stream: ServerHttp2Stream;
  maybeSendMetadata(): void;
}

function internalsOf(call: ServerWritableStream<unknown, unknown>): BaseCallInternals | undefined {
  const base = (call as unknown as { call?: Partial<BaseCallInternals> }).call;
  if (base === undefined || base === null || typeof base.maybeSendMetadata !== 'function') return undefined;
  const stream = base.stream;
  if (stream === undefined || typeof stream.write !== 'function' || typeof stream.once !== 'function') return undefined;
  return base as BaseCallInternals;
}

/** Writes length-prefixed gRPC frames of pre-encoded messages to a call's HTTP/2 stream in batches. */
export class FramedResponseWriter {
  private batch: Buffer;
  private used = 0;

  private constructor(
    private readonly base: BaseCallInternals,
    private readonly batchBytes: number,
  ) {
    this.batch = Buffer.allocUnsafe(batchBytes);
    // grpc-js listens for one 'error' only; a failed write of ours may emit another. The
    // 'close' that follows every error ends the call (the pump sees the stream closed).
    base.stream.on('error', () => undefined);
  }

  /** A writer for `call`, or undefined when grpc-js's internals are not what this writer expects. */
  static attach(call: ServerWritableStream<unknown, unknown>, batchBytes = FRAMED_BATCH_BYTES): FramedResponseWriter | undefined {
    const base = internalsOf(call);
    return base ? new FramedResponseWriter(base, batchBytes) : undefined;
  }

  /** Bytes gathered and not written yet. */
  get pending(): number {
    return this.used;
  }

  /** Whether the HTTP/2 stream is gone (client cancelled, connection lost). */
  get closed(): boolean {
    const s = this.base.stream;
    return s.destroyed || s.closed;
  }

  /**
   * Appends one message as a gRPC frame. Returns false once the batch holds FRAMED_BATCH_BYTES
   * or more: the caller flushes then (and honours flush()'s back-pressure). Never writes itself.
   */
  push(message: Uint8Array): boolean {
    const need = 5 + message.length;
    if (this.used + need > this.batch.length) {
      // Only a message larger than the room left gets here (callers flush full batches).
      const grown = Buffer.allocUnsafe(Math.max(2 * this.batch.length, this.used + need));
      this.batch.copy(grown, 0, 0, this.used);
      this.batch = grown;
    }
    const b = this.batch;
    const at = this.used;
    b[at] = 0;
    b.writeUInt32BE(message.length, at + 1);
    b.set(message, at + 5);
    this.used = at + need;
    return this.used < this.batchBytes;
  }

  /** Writes what was gathered; returns false when the stream's buffer is full (await drained()). */
  flush(): boolean {
    if (this.used === 0) return this.base.stream.writableNeedDrain !== true;
    const out = this.batch.subarray(0, this.used);
    // The stream keeps `out` until written: the next batch gets a fresh buffer.
    this.batch = Buffer.allocUnsafe(this.batchBytes);
    this.used = 0;
    if (this.closed) return true;
    this.base.maybeSendMetadata();
    return this.base.stream.write(out);
  }

  /** Resolves when the stream's buffer drained, the stream closed, or `signal` aborted. */
  drained(signal: AbortSignal): Promise<void> {
    const stream = this.base.stream;
    if (this.closed || signal.aborted || stream.writableNeedDrain !== true) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        stream.off('drain', done);
        stream.off('close', done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      stream.on('drain', done);
      stream.on('close', done);
      signal.addEventListener('abort', done, { once: true });
    });
  }
}
