// Writes a server stream from an async source while honouring back-pressure and stopping
// as soon as the client cancels or the server shuts down.
import type { ServerWritableStream } from '@grpc/grpc-js';
import { READER_END, READER_WAIT, type HubbleEvent, type RingReader } from '@cilium-ts/flow';

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

/** Events sent in one go before the pump yields to the event loop (agent ingest, other streams). */
export const PUMP_SLICE = 512;

/**
 * Sends what `reader` yields, mapped through `toMessage` (undefined = skip), pulling events
 * synchronously (no promise per event), waiting for 'drain' when the transport buffer is full,
 * for new entries when caught up in follow mode, and yielding to the event loop every
 * PUMP_SLICE events. Ends the call OK when the reader ends, unless the call was cancelled or
 * the signal aborted.
 */
export async function pump<M>(
  call: ServerWritableStream<unknown, M>,
  reader: RingReader,
  toMessage: (e: HubbleEvent) => M | undefined,
  signal: AbortSignal,
  onBackpressure?: () => void,
): Promise<void> {
  let slice = 0;
  for (;;) {
    if (signal.aborted) return;
    const e = reader.next();
    if (e === READER_END) break;
    if (e === READER_WAIT) {
      slice = 0;
      await reader.wait();
      continue;
    }
    const msg = toMessage(e);
    if (msg === undefined) continue;
    if (!call.write(msg)) {
      onBackpressure?.();
      slice = 0;
      await drained(call as ServerWritableStream<unknown, unknown>, signal);
    } else if (++slice >= PUMP_SLICE) {
      slice = 0;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  if (!signal.aborted && !call.writableEnded) call.end();
}
