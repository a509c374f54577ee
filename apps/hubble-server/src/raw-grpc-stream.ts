// A lean gRPC server-streaming call over node:http2 for the agent's Monitor.Listen, the
// hottest stream hubble-server reads: one message per datapath event. grpc-js spends more
// per received message (interceptor layers, a promise per message in its compression
// filter) than decoding and parsing the event; this reads the length-prefixed frames of the
// HTTP/2 body directly. Plaintext only (the agent socket is a unix socket, mode 0660), no
// compression (none is requested), no retries (AgentSubscriber reconnects).
import { EventEmitter } from 'node:events';
import { connect, constants, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { status } from '@grpc/grpc-js';
import { grpcCallHeaders, grpcMessageFrame, grpcStatusOf as statusOf, parseAddress, type RawStatus } from '@cilium-ts/grpc';
import type { ReadGate } from './ingest-gate.js';

/**
 * Messages delivered before the reader pauses for one event-loop turn. 1 (after every chunk
 * that carried a message) measured best under a blast: no events lost to the server's own
 * readers being overrun, at the cost of more event-loop turns per event (4 lost ~20%, 16 and
 * 64 ~40%, at about the same delivered rate).
 */
export const YIELD_EVERY = 1;

export type { RawStatus };

/** Raised (emitted as 'error') when a call ends with a status other than OK. */
export class RawStreamError extends Error {
  override readonly name = 'RawStreamError';
  constructor(
    readonly code: number,
    readonly details: string,
    readonly path: string,
  ) {
    super(`${path}: ${status[code] ?? code}: ${details}`);
  }
}

/**
 * One server-streaming call. Events: 'metadata' (response headers arrived), 'data' (each
 * decoded message), 'error' (RawStreamError, for a non-OK status), 'end' (OK status), and
 * 'status' (RawStatus, always last). `cancel()` ends it with CANCELLED.
 */
export class RawServerStream<T> extends EventEmitter {
  private readonly session: ClientHttp2Session;
  private readonly stream: ClientHttp2Stream;
  /** Received bytes of an incomplete message, and how many bytes it needs in all (header included). */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private needed = 5;
  private finished = false;
  private sinceYield = 0;
  /** Status from the trailers (or a trailers-only response), applied once the body has been read. */
  private trailerStatus: RawStatus | undefined;

  constructor(
    address: string,
    readonly path: string,
    request: Uint8Array,
    private readonly decode: (bytes: Uint8Array) => T,
    /** Asked before reading on after a pause; while closed the call stays paused until it reopens. */
    private readonly gate?: ReadGate,
  ) {
    super();
    const parsed = parseAddress(address);
    this.session =
      parsed.kind === 'unix'
        ? connect('http://localhost', { createConnection: () => netConnect(parsed.path) })
        : connect(`http://${parsed.host.includes(':') ? `[${parsed.host}]` : parsed.host}:${parsed.port}`);
    this.session.on('error', (err) => this.finish({ code: status.UNAVAILABLE, details: `connection to ${address} failed: ${err.message}` }));
    this.stream = this.session.request(grpcCallHeaders(path));
    this.stream.end(grpcMessageFrame(request));
    this.stream.on('response', (headers) => {
      this.emit('metadata', headers);
      // A trailers-only response carries the status in its headers.
      if (headers['grpc-status'] !== undefined) this.trailerStatus = statusOf(headers);
    });
    this.stream.on('data', (chunk: Buffer) => {
      this.onChunk(chunk);
      // After YIELD_EVERY messages, pause for one event-loop turn: what the messages woke
      // (server streams pulling from the ring in setImmediate slices) runs before more is
      // read, so a busy process shares its time between taking events in and sending them
      // out instead of reading ahead and overrunning its own readers.
      if (this.sinceYield >= YIELD_EVERY && !this.finished) {
        this.sinceYield = 0;
        this.stream.pause();
        const resume = () => {
          if (this.finished) return;
          if (this.gate === undefined || this.gate.open()) this.stream.resume();
          else this.gate.whenOpen(resume);
        };
        setImmediate(resume);
      }
    });
    this.stream.on('trailers', (trailers) => {
      this.trailerStatus = statusOf(trailers);
    });
    // The status counts only after every DATA frame before it has been delivered.
    this.stream.on('end', () => this.finish(this.trailerStatus ?? { code: status.UNAVAILABLE, details: 'the stream ended without a status' }));
    this.stream.on('error', (err) => this.finish({ code: status.UNAVAILABLE, details: err.message }));
    this.stream.on('close', () => {
      if (this.trailerStatus) {
        this.finish(this.trailerStatus);
        return;
      }
      const code = this.stream.rstCode;
      this.finish(
        code === constants.NGHTTP2_CANCEL
          ? { code: status.CANCELLED, details: 'the call was cancelled' }
          : { code: status.UNAVAILABLE, details: `the stream closed without a status (HTTP/2 code ${code ?? 0})` },
      );
    });
  }

  /** Cancels the call (RST_STREAM CANCEL) and closes the connection. */
  cancel(): void {
    this.finish({ code: status.CANCELLED, details: 'cancelled by the client' });
  }

  private onChunk(chunk: Buffer): void {
    // A message spanning several chunks (DATA frames carry at most 16 KiB) is joined once,
    // when all of it is there, not re-copied with every chunk.
    let buf = chunk;
    if (this.pendingBytes > 0) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      if (this.pendingBytes < this.needed) return;
      buf = Buffer.concat(this.pending, this.pendingBytes);
      this.pending = [];
      this.pendingBytes = 0;
    }
    let off = 0;
    this.needed = 5;
    while (buf.length - off >= 5) {
      const len = buf.readUInt32BE(off + 1);
      if (buf.length - off - 5 < len) {
        this.needed = 5 + len;
        break;
      }
      if (buf[off] !== 0) {
        this.finish({ code: status.INTERNAL, details: 'the server sent a compressed message, which this client never asked for' });
        return;
      }
      let message: T;
      try {
        message = this.decode(buf.subarray(off + 5, off + 5 + len));
      } catch (err) {
        this.finish({ code: status.INTERNAL, details: `cannot decode a message: ${(err as Error).message}` });
        return;
      }
      off += 5 + len;
      this.sinceYield++;
      this.emit('data', message);
      if (this.finished) return;
    }
    if (off < buf.length) {
      this.pending = [buf.subarray(off)];
      this.pendingBytes = buf.length - off;
    }
  }

  private finish(st: RawStatus): void {
    if (this.finished) return;
    this.finished = true;
    if (!this.stream.closed) this.stream.close(constants.NGHTTP2_CANCEL);
    this.session.close();
    if (st.code === status.OK) this.emit('end');
    else this.emit('error', new RawStreamError(st.code, st.details, this.path));
    this.emit('status', st);
  }
}
