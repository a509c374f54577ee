// Runs one server-streaming Observer call to its end: dial, print every response, stop
// on Ctrl-C, and turn the final status into the exit code the upstream CLI uses (0 on
// OK or CANCELLED, else 1 with `rpc error: code = X desc = Y` on stderr).
import { status as Status, type ClientReadableStream } from '@grpc/grpc-js';
import { observer } from '@cilium-ts/api';
import { statusText } from '@cilium-ts/grpc';
import type { FlagValues } from './args.js';
import { dial, resolveTarget } from './connect.js';
import { connectOptions, type Io } from './global-flags.js';

/** What receives the stream's responses. */
export interface StreamPrinter<T> {
  response(r: T): void;
  /** Called once when the stream is over (table output prints here). */
  finish(): void;
}

/** Streams `start(client)` into `printer`; resolves with the exit code. */
export async function runObserverStream<T>(
  flags: FlagValues,
  io: Io,
  start: (client: observer.ObserverClient) => ClientReadableStream<T>,
  printer: StreamPrinter<T>,
): Promise<number> {
  const conn = connectOptions(flags);
  const target = resolveTarget(conn);
  const client = new observer.ObserverClient(target.address, target.credentials, target.options);
  try {
    await dial(client, target, conn.timeoutMs);
    return await new Promise<number>((resolve) => {
      const call = start(client);
      let interrupted = false;
      const off = io.onInterrupt(() => {
        interrupted = true;
        call.cancel();
      });
      call.on('data', (r: T) => printer.response(r));
      call.on('error', () => {
        // Reported through 'status'.
      });
      let status: { code: number; details: string } | undefined;
      let ended = false;
      let done = false;
      const maybeDone = (): void => {
        if (done || status === undefined || (status.code === Status.OK && !ended)) return;
        done = true;
        off();
        printer.finish();
        if (status.code === Status.OK || status.code === Status.CANCELLED || interrupted) {
          resolve(0);
          return;
        }
        io.err(`${statusText(status.code, status.details)}\n`);
        resolve(1);
      };
      call.on('end', () => {
        ended = true;
        maybeDone();
      });
      call.on('status', (st: { code: number; details: string }) => {
        status = st;
        maybeDone();
      });
    });
  } finally {
    client.close();
  }
}
