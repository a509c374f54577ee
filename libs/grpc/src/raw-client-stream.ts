// The one lean gRPC server-streaming client call over node:http2, for the hottest streams read
// in cilium-ts: hubble-relay's GetFlows from every peer (one message per flow) and
// hubble-server's Monitor.Listen from its agent (one message per batch of datapath events).
// grpc-js spends more per received message (a Readable push, interceptor layers, a promise
// per message in its decompression filter) than the readers spend on the message; this reads
// the length-prefixed frames of each HTTP/2 DATA chunk in place and hands the messages to a
// sink synchronously. Plaintext or TLS (with PEM material given as bytes), no compression
// (none is requested), no retries (callers reconnect).
import { constants, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import { status as Status } from '@grpc/grpc-js';
import { RawChannel, type RawTlsOptions } from './raw-channel.js';
import { grpcCallHeaders, grpcMessageFrame, grpcStatusOf as statusOf, type RawStatus } from './raw-grpc.js';

/** What a raw call reports to: every message, and the final status once. */
export interface RawStreamSink {
  /** The response headers arrived (a trailers-only response's too, before its status). */
  headers?(headers: IncomingHttpHeaders): void;
  /** One complete message (a view into the received chunk); throwing ends the call with INTERNAL. */
  message(bytes: Buffer): void;
  /** The call ended (OK after the whole body was read, or an error); called once, last. */
  status(s: RawStatus): void;
}

/** Options of one raw call. */
export interface RawCallOptions {
  /** grpc-js style target: `unix:///path`, `host:port`, `[v6]:port` (ignored with `channel`). */
  target: string;
  /** Method path, e.g. `/observer.Observer/GetFlows`. */
  path: string;
  /** The encoded request message. */
  request: Uint8Array;
  /** Extra request headers (forwarded metadata). */
  headers?: Record<string, string | string[]>;
  /**
   * The shared connection to make the call on (see RawChannel). Without one the call opens a
   * connection of its own from `target`, `tls`, `keepaliveMs` and `windowBytes`, closed with it.
   */
  channel?: RawChannel;
  /** TLS toward the peer; plaintext when absent. */
  tls?: RawTlsOptions;
  /** HTTP/2 PING interval (default RAW_KEEPALIVE_MS; 0 disables); no answer within a third of it ends the call. */
  keepaliveMs?: number;
  /** HTTP/2 receive window of the call and its connection (default RAW_STREAM_WINDOW_BYTES; HTTP/2's own default is 65535). */
  windowBytes?: number;
}

/** Largest message accepted (as grpc-js's max_receive_message_length on the relay's peer channels). */
export const RAW_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/**
 * RawClientStream is one server-streaming call, on a shared RawChannel or on an HTTP/2
 * connection of its own. pause()/resume() apply HTTP/2 flow control to the peer; cancel()
 * ends the call with CANCELLED.
 */
export class RawClientStream {
  private readonly session: ClientHttp2Session;
  private readonly stream: ClientHttp2Stream;
  private pending: Buffer | undefined;
  private finished = false;
  private paused = false;
  /** Status from the trailers (or a trailers-only response), applied once the body has been read. */
  private trailerStatus: RawStatus | undefined;
  private readonly channel: RawChannel;
  /** True when the call opened its own connection (no shared channel given): it closes it at the end. */
  private readonly owned: boolean;
  private readonly onSessionError: (err: Error) => void;

  constructor(
    opts: RawCallOptions,
    private readonly sink: RawStreamSink,
  ) {
    const target = opts.channel?.opts.target ?? opts.target;
    this.owned = opts.channel === undefined;
    this.channel = opts.channel ?? new RawChannel({
      target: opts.target, tls: opts.tls, keepaliveMs: opts.keepaliveMs, windowBytes: opts.windowBytes, connectionWindowBytes: opts.windowBytes,
    });
    this.session = this.channel.session();
    this.channel.callStarted();
    this.onSessionError = (err: Error) => this.finish({ code: Status.UNAVAILABLE, details: `connection to ${target} failed: ${err.message}` });
    this.session.on('error', this.onSessionError);
    this.stream = this.session.request(grpcCallHeaders(opts.path, opts.headers));
    this.stream.end(grpcMessageFrame(opts.request));
    this.stream.on('response', (h) => {
      this.sink.headers?.(h);
      // A trailers-only response carries the status in its headers.
      if (h['grpc-status'] !== undefined) this.trailerStatus = statusOf(h);
    });
    this.stream.on('data', (chunk: Buffer) => this.onChunk(chunk));
    this.stream.on('trailers', (t) => {
      this.trailerStatus = statusOf(t);
    });
    // The status counts only after every DATA frame before it has been delivered.
    this.stream.on('end', () => this.finish(this.trailerStatus ?? { code: Status.UNAVAILABLE, details: 'the stream ended without a status' }));
    this.stream.on('error', (err) => this.finish({ code: Status.UNAVAILABLE, details: err.message }));
    this.stream.on('close', () => {
      if (this.trailerStatus) {
        this.finish(this.trailerStatus);
        return;
      }
      const code = this.stream.rstCode;
      this.finish(
        code === constants.NGHTTP2_CANCEL
          ? { code: Status.CANCELLED, details: 'the peer cancelled the call' }
          : { code: Status.UNAVAILABLE, details: `the stream closed without a status (HTTP/2 code ${code ?? 0})` },
      );
    });
  }

  /** Stops reading: HTTP/2 flow control holds the peer back once its window is used up. */
  pause(): void {
    if (this.paused || this.finished) return;
    this.paused = true;
    this.stream.pause();
  }

  /** Reads on after pause(). */
  resume(): void {
    if (!this.paused || this.finished) return;
    this.paused = false;
    this.stream.resume();
  }

  /** Cancels the call (RST_STREAM CANCEL; its own connection, if it has one, is closed); the sink hears CANCELLED. */
  cancel(): void {
    this.finish({ code: Status.CANCELLED, details: 'Cancelled on client' });
  }

  private onChunk(chunk: Buffer): void {
    if (this.finished) return;
    let buf = chunk;
    let off = 0;
    if (this.pending !== undefined) {
      // Complete the message split across chunks by copying only its own bytes, then read the
      // rest of this chunk in place.
      let head = this.pending;
      if (head.length < 5) {
        const take = Math.min(5 - head.length, chunk.length);
        head = Buffer.concat([head, chunk.subarray(0, take)]);
        off = take;
      }
      if (head.length < 5) {
        this.pending = head;
        return;
      }
      const need = 5 + head.readUInt32BE(1) - head.length;
      if (need > chunk.length - off || head.readUInt32BE(1) > RAW_MAX_MESSAGE_BYTES) {
        // Still incomplete (or oversized: the loop below reports it).
        buf = Buffer.concat([head, chunk.subarray(off)]);
        off = 0;
        this.pending = undefined;
      } else {
        const frame = need > 0 ? Buffer.concat([head, chunk.subarray(off, off + need)]) : head;
        this.pending = undefined;
        off += need;
        if (!this.deliver(frame, 0, frame.length)) return;
      }
    }
    const end = buf.length;
    while (end - off >= 5) {
      const len = buf.readUInt32BE(off + 1);
      if (len > RAW_MAX_MESSAGE_BYTES) {
        this.finish({ code: Status.RESOURCE_EXHAUSTED, details: `Received message larger than max (${len} vs. ${RAW_MAX_MESSAGE_BYTES})` });
        return;
      }
      if (end - off - 5 < len) break;
      const at = off;
      off += 5 + len;
      if (!this.deliver(buf, at, off)) return;
    }
    if (off < end) this.pending = buf.subarray(off);
  }

  /** Hands the frame buf[start, end) (5-byte prefix included) to the sink; false when the call ended. */
  private deliver(buf: Buffer, start: number, end: number): boolean {
    if (buf[start] !== 0) {
      this.finish({ code: Status.INTERNAL, details: 'the peer sent a compressed message, which the relay never asked for' });
      return false;
    }
    try {
      this.sink.message(buf.subarray(start + 5, end));
    } catch (err) {
      this.finish({ code: Status.INTERNAL, details: `cannot read a message from the peer: ${(err as Error).message}` });
      return false;
    }
    return !this.finished;
  }

  private finish(st: RawStatus): void {
    if (this.finished) return;
    this.finished = true;
    this.session.off('error', this.onSessionError);
    if (!this.stream.closed) this.stream.close(constants.NGHTTP2_CANCEL);
    this.channel.callEnded();
    if (this.owned) this.channel.closeWhenIdle();
    if (st.code === Status.OK && this.pending !== undefined) {
      st = { code: Status.INTERNAL, details: 'the stream ended in the middle of a message' };
    }
    this.pending = undefined;
    this.sink.status(st);
  }
}
