// Writes a server stream from an async source while honouring back-pressure and stopping
// as soon as the client cancels or the server shuts down.
import type { ServerWritableStream } from '@grpc/grpc-js';

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

/**
 * Sends every item of `source` mapped through `toMessage` (undefined = skip), waiting for
 * 'drain' when the transport buffer is full. Ends the call OK when the source ends, unless
 * the call was cancelled. Always closes the source (freeing its ring reader).
 */
export async function pump<T, M>(
  call: ServerWritableStream<unknown, M>,
  source: AsyncGenerator<T>,
  toMessage: (item: T) => M | undefined,
  signal: AbortSignal,
  onBackpressure?: () => void,
): Promise<void> {
  try {
    for await (const item of source) {
      if (signal.aborted) break;
      const msg = toMessage(item);
      if (msg === undefined) continue;
      if (!call.write(msg)) {
        onBackpressure?.();
        await drained(call as ServerWritableStream<unknown, unknown>, signal);
      }
    }
  } finally {
    await source.return(undefined);
  }
  if (!signal.aborted && !call.writableEnded) call.end();
}
