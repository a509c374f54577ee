// The agent's Monitor.Listen, the hottest stream hubble-server reads (one message per batch
// of datapath events), as an event emitter over libs/grpc's lean HTTP/2 reader
// (RawClientStream: frames cut out of each DATA chunk in place). This adds what hubble-server
// needs on top: each message decoded, and a pause of one event-loop turn after every chunk
// that carried messages, held while the ingest gate is closed. Plaintext (the agent socket is
// a unix socket, mode 0660), HTTP/2's default 64 KiB window, no keepalive (a local socket),
// no retries (AgentSubscriber reconnects).
import { EventEmitter } from 'node:events';
import { status } from '@grpc/grpc-js';
import { RawClientStream, type RawStatus } from '@cilium-ts/grpc';
import type { ReadGate } from './ingest-gate.js';

/**
 * Messages delivered before the reader pauses for one event-loop turn. 1 (after every chunk
 * that carried a message) measured best under a blast: no events lost to the server's own
 * readers being overrun, at the cost of more event-loop turns per event (4 lost ~20%, 16 and
 * 64 ~40%, at about the same delivered rate).
 */
export const YIELD_EVERY = 1;

/** HTTP/2's default window: the agent stream keeps it (measured against in the flow bench). */
const AGENT_WINDOW_BYTES = 65535;

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
  private readonly call: RawClientStream;
  private sinceYield = 0;
  private yielding = false;
  private finished = false;

  constructor(
    address: string,
    readonly path: string,
    request: Uint8Array,
    decode: (bytes: Uint8Array) => T,
    /** Asked before reading on after a pause; while closed the call stays paused until it reopens. */
    private readonly gate?: ReadGate,
  ) {
    super();
    let decodeFailure: string | undefined;
    this.call = new RawClientStream(
      { target: address, path, request, keepaliveMs: 0, windowBytes: AGENT_WINDOW_BYTES },
      {
        headers: (h) => this.emit('metadata', h),
        message: (bytes) => {
          let message: T;
          try {
            message = decode(bytes);
          } catch (err) {
            decodeFailure = `cannot decode a message: ${(err as Error).message}`;
            throw err;
          }
          this.sinceYield++;
          this.emit('data', message);
          this.maybeYield();
        },
        status: (st) => {
          this.finished = true;
          // A throwing decoder ends the call with INTERNAL; name the decoding as the cause.
          const final = decodeFailure !== undefined && st.code === status.INTERNAL ? { code: st.code, details: decodeFailure } : st;
          if (final.code === status.OK) this.emit('end');
          else this.emit('error', new RawStreamError(final.code, final.details, this.path));
          this.emit('status', final);
        },
      },
    );
  }

  /** Cancels the call (RST_STREAM CANCEL) and closes the connection. */
  cancel(): void {
    this.call.cancel();
  }

  /**
   * After YIELD_EVERY messages, pause for one event-loop turn: what the messages woke (server
   * streams pulling from the ring in setImmediate slices) runs before more is read, so a busy
   * process shares its time between taking events in and sending them out instead of reading
   * ahead and overrunning its own readers. The rest of the chunk at hand is still delivered.
   */
  private maybeYield(): void {
    if (this.sinceYield < YIELD_EVERY || this.yielding || this.finished) return;
    this.sinceYield = 0;
    this.yielding = true;
    this.call.pause();
    const resume = (): void => {
      if (this.finished) return;
      if (this.gate === undefined || this.gate.open()) {
        this.yielding = false;
        this.call.resume();
      } else {
        this.gate.whenOpen(resume);
      }
    };
    setImmediate(resume);
  }
}
