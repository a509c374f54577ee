import { observer } from '@cilium-ts/api';
import { statusText } from '@cilium-ts/grpc';
import { FlagValues, UsageError, parseArgs, type FlagSpec } from './args.js';
import { dial, resolveTarget } from './connect.js';
import { GLOBAL_FLAGS, connectOptions, type Io } from './global-flags.js';

/** LIST_OUTPUT_FLAG is the `-o table|wide|json` flag of the `hubble list` commands. */
export const LIST_OUTPUT_FLAG: FlagSpec = { name: 'output', short: 'o', kind: 'string', default: 'table', help: 'Output format: table, wide, json' };

type UnaryResult<R> = R | (Error & { code?: number; details?: string });

/**
 * runListCommand is the frame of a `hubble list` command: parses the flags (`--help` prints
 * `help`), checks `-o`, dials the server, makes one unary Observer call and prints what
 * `render` makes of its answer; a failed call prints as upstream (`rpc error: code = ...`).
 */
export async function runListCommand<R>(
  argv: string[],
  io: Io,
  help: string,
  call: (client: observer.ObserverClient, cb: (err: Error | null, res: R) => void) => void,
  render: (res: R, output: 'table' | 'wide' | 'json') => string,
): Promise<number> {
  const specs = [LIST_OUTPUT_FLAG, ...GLOBAL_FLAGS];
  const parsed = parseArgs(argv, specs);
  const flags = new FlagValues(parsed, specs, io.env);
  if (flags.bool('help')) {
    io.out(help);
    return 0;
  }
  const output = flags.string('output');
  if (output !== 'table' && output !== 'wide' && output !== 'json') throw new UsageError(`invalid output format "${output}": use table, wide or json`);
  const conn = connectOptions(flags);
  const target = resolveTarget(conn);
  const client = new observer.ObserverClient(target.address, target.credentials, target.options);
  try {
    await dial(client, target, conn.timeoutMs);
    const res = await new Promise<UnaryResult<R>>((resolve) => call(client, (err, r) => resolve(err ?? r)));
    if (res instanceof Error) {
      io.err(`${res.code !== undefined ? statusText(res.code, res.details ?? res.message) : res.message}\n`);
      return 1;
    }
    io.out(render(res, output));
    return 0;
  } finally {
    client.close();
  }
}
