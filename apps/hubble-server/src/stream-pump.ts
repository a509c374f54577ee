// Writes a server stream from an async source while honouring back-pressure and stopping
// as soon as the client cancels or the server shuts down.
import type { ServerWritableStream } from '@grpc/grpc-js';
import { READER_END, READER_WAIT, type HubbleEvent, type RingReader } from '@cilium-ts/flow';
import { FramedWriter } from '@cilium-ts/grpc';

/** An AbortSignal that fires when the call is cancelled or closed, or when `shutdown` aborts. */
export function callSignal(call: ServerWritableStream<unknown, unknown>, shutdown?: AbortSignal): AbortController {
  const ac = new AbortController();
  const abort = () => ac.abort();
  call.on('cancelled', abort);
  call.on('close', abort);
  if (shutdown) {
    if (shutdown.aborted) ac.abort();
    else shutdown.addEventListener('abort', abort, { once: true });
    ac.signal.addEventListener('abort', () => shutdown.removeEventListener('abort', abort), { once: true });
  }
  return ac;
}

function drained(call: ServerWritableStream<unknown, unknown>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      call.off('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    call.on('drain', done);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Where a pump writes its messages: one grpc-js write per message, or framed batches. */
export interface MessageSink<M> {
  /** Queues one message; false: the transport is full (flush, then await drained()). */
  write(message: M): boolean;
  /** Sends what is queued; false: the transport is full (await drained()). */
  flush(): boolean;
  drained(signal: AbortSignal): Promise<void>;
}

/** A sink writing each message with grpc-js's `call.write` (flush is a no-op). */
export function callSink<M>(call: ServerWritableStream<unknown, M>): MessageSink<M> {
  const untyped = call as ServerWritableStream<unknown, unknown>;
  return {
    write: (m) => call.write(m),
    flush: () => !untyped.writableNeedDrain,
    drained: (signal) => (untyped.writableNeedDrain ? drained(untyped, signal) : Promise.resolve()),
  };
}

/** A sink of pre-encoded messages: FramedWriter (libs/grpc) batches when grpc-js allows it, else callSink. */
export function encodedSink(call: ServerWritableStream<unknown, Uint8Array>): MessageSink<Uint8Array> {
  const framed = FramedWriter.attach(call as ServerWritableStream<unknown, unknown>);
  if (framed === undefined) return callSink(call);
  return {
    write: (m) => framed.push(m) || framed.flush(),
    flush: () => framed.flush(),
    drained: (signal) => framed.drained(signal),
  };
}

/** What a pump tells its owner. */
export interface PumpHooks {
  /** The transport was full: the pump waits for it to drain. */
  backpressure?(): void;
  /** The pump handed a batch to the transport (its reader moved on). */
  progress?(): void;
}

/** Events sent in one go before the pump yields to the event loop (agent ingest, other streams). */
export const PUMP_SLICE = 512;

/**
 * Sends what `reader` yields, mapped through `toMessage` (undefined = skip), pulling events
 * synchronously (no promise per event). Queued messages are flushed before the pump waits
 * for new entries (follow mode, caught up), before it yields to the event loop (every
 * PUMP_SLICE events) and at the end; when the transport is full it waits for 'drain'. Ends
 * the call OK when the reader ends, unless the call was cancelled or the signal aborted.
 */
export async function pump<M>(
  call: ServerWritableStream<unknown, M>,
  sink: MessageSink<M>,
  reader: RingReader,
  toMessage: (e: HubbleEvent) => M | undefined,
  signal: AbortSignal,
  hooks: PumpHooks = {},
): Promise<void> {
  let slice = 0;
  const settle = async (): Promise<void> => {
    const full = !sink.flush();
    hooks.progress?.();
    if (full) {
      hooks.backpressure?.();
      await sink.drained(signal);
    }
  };
  for (;;) {
    if (signal.aborted) return;
    const e = reader.next();
    if (e === READER_END) break;
    if (e === READER_WAIT) {
      slice = 0;
      await settle();
      if (signal.aborted) return;
      await reader.wait();
      continue;
    }
    const msg = toMessage(e);
    if (msg === undefined) continue;
    if (!sink.write(msg)) {
      slice = 0;
      await settle();
    } else if (++slice >= PUMP_SLICE) {
      slice = 0;
      await settle();
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  await settle();
  if (!signal.aborted && !call.writableEnded) call.end();
}
