// What `hubble observe agent-events` and `hubble observe debug-events` share: the flag
// parsing and checks before the call, the since/until window, and the printer bookkeeping
// (dict separators, table rows written at the end).
import { FlagValues, UsageError, parseArgs, type FlagSpec } from './args.js';
import { GLOBAL_FLAGS, type Io } from './global-flags.js';
import { formatTable } from './tab-writer.js';
import { resolveOutputFormat, type OutputFormat } from './output-format.js';
import { parseTimeArg } from './time-parse.js';
import { timeFormatFlag, type TimeFormat } from './timestamp-format.js';
import type { Timestamp } from '@cilium-ts/api';

/** Printer options of an event command. */
export interface EventPrinterOptions {
  output: OutputFormat;
  timeFormat: TimeFormat;
  printNodeName: boolean;
  out: (s: string) => void;
}

/** A parsed event command: its flags and printer options. */
export interface EventCommand {
  flags: FlagValues;
  printer: EventPrinterOptions;
}

/**
 * parseEventCommand parses `hubble observe <command>` arguments; returns undefined after
 * printing help. Throws UsageError for positionals, a bad --output or --time-format.
 */
export function parseEventCommand(argv: string[], io: Io, commandFlags: FlagSpec[], command: string, help: string): EventCommand | undefined {
  const specs = [...commandFlags, ...GLOBAL_FLAGS];
  const parsed = parseArgs(argv, specs);
  const flags = new FlagValues(parsed, specs, io.env);
  if (flags.bool('help')) {
    io.out(help);
    return undefined;
  }
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument "${parsed.positionals[0]}" for hubble observe ${command}`);
  const output = resolveOutputFormat(flags.string('output'), io.env);
  const timeFormat = timeFormatFlag(flags.string('time-format'));
  if (output === 'table' && flags.bool('follow')) throw new UsageError('output format table is not compatible with follow mode');
  return { flags, printer: { output, timeFormat, printNodeName: flags.bool('print-node-name'), out: io.out } };
}

/** eventWindow reads --follow, --since and --until (until is ignored in follow mode, as upstream). */
export function eventWindow(flags: FlagValues, nowNanos?: bigint): { follow: boolean; since?: Timestamp; until?: Timestamp } {
  const follow = flags.bool('follow');
  const sinceArg = flags.string('since');
  const untilArg = flags.string('until');
  return {
    follow,
    since: sinceArg !== '' ? parseTimeArg(sinceArg, nowNanos) : undefined,
    until: untilArg !== '' && !follow ? parseTimeArg(untilArg, nowNanos) : undefined,
  };
}

/** EventPrinterBase holds the line count (dict separators) and the table rows written by finish. */
export abstract class EventPrinterBase {
  protected line = 0;
  protected readonly rows: string[][] = [];

  constructor(protected readonly opts: EventPrinterOptions) {}

  /** dictSeparator is the line between dict records (none before the first). */
  protected dictSeparator(): string {
    return this.line !== 0 ? '------------\n' : '';
  }

  /** nodeCells is the NODE cell when node names are printed. */
  protected nodeCells(nodeName: string): string[] {
    return this.opts.printNodeName ? [nodeName] : [];
  }

  /** finish writes the table, if any. */
  finish(): void {
    if (this.rows.length > 0) this.opts.out(formatTable(this.rows));
  }
}
