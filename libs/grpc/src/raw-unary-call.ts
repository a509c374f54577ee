// A unary gRPC call made on a RawChannel: the request, exactly one response message and the
// status, with a deadline. hubble-relay makes its peers' unary calls (ServerStatus, GetNodes'
// and GetNamespaces' fan-out) this way, on the same HTTP/2 connection as their GetFlows
// streams, so each peer costs the relay one connection for every call.
import { status as Status } from '@grpc/grpc-js';
import type { RawChannel } from './raw-channel.js';
import { RawClientStream } from './raw-client-stream.js';
import { statusText } from './status-text.js';

/** Raised when a raw unary call ends without a response: the status the call ended with. */
export class RawCallError extends Error {
  override readonly name = 'RawCallError';
  constructor(
    /** gRPC status code. */
    readonly code: number,
    /** gRPC status message. */
    readonly details: string,
    /** Method path of the call. */
    readonly path: string,
  ) {
    super(`${path}: ${statusText(code, details)}`);
  }
}

/** Options of one raw unary call. */
export interface RawUnaryOptions {
  /** The shared connection to make the call on. */
  channel: RawChannel;
  /** Method path, e.g. `/observer.Observer/ServerStatus`. */
  path: string;
  /** The encoded request message. */
  request: Uint8Array;
  /** The call ends DEADLINE_EXCEEDED (and is cancelled) after this many milliseconds; also sent as grpc-timeout. */
  timeoutMs: number;
  /** Extra request headers. */
  headers?: Record<string, string | string[]>;
}

/**
 * rawUnaryCall makes one unary call on `opts.channel` and resolves with the response message's
 * bytes (a copy); it rejects with RawCallError when the call ends with an error status, with no
 * message or with more than one, or when the deadline passes.
 */
export function rawUnaryCall(opts: RawUnaryOptions): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    let response: Buffer | undefined;
    let extra = false;
    let timedOut = false;
    const fail = (code: number, details: string): void => reject(new RawCallError(code, details, opts.path));
    let call: RawClientStream | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      call?.cancel();
    }, opts.timeoutMs);
    try {
      call = new RawClientStream(
        {
          target: opts.channel.opts.target,
          channel: opts.channel,
          path: opts.path,
          request: opts.request,
          headers: { ...opts.headers, 'grpc-timeout': `${Math.max(1, Math.ceil(opts.timeoutMs))}m` },
        },
        {
          message(bytes) {
            if (response !== undefined) extra = true;
            else response = Buffer.from(bytes);
          },
          status(st) {
            clearTimeout(timer);
            if (timedOut) return fail(Status.DEADLINE_EXCEEDED, `no answer within ${opts.timeoutMs} ms`);
            if (st.code !== Status.OK) return fail(st.code, st.details);
            if (response === undefined) return fail(Status.INTERNAL, 'the call ended OK without a response message');
            if (extra) return fail(Status.INTERNAL, 'a unary call got more than one response message');
            resolve(response);
          },
        },
      );
    } catch (err) {
      clearTimeout(timer);
      fail(Status.UNAVAILABLE, (err as Error).message);
    }
  });
}
