// A CLI command: its path (`policy import`), its flags (defined with @cilium-ts/grpc's
// defineFlags, so --help works everywhere) and what it does.
import type { FlagSpecs, ParsedFlags } from '@cilium-ts/process';
import { DEFAULT_AGENT_HOST } from './agent-connection.js';
import { CliError, type CliContext } from './cli-context.js';

/** One command of the CLI. */
export interface CliCommand<S extends FlagSpecs = FlagSpecs> {
  /** Words that select it, e.g. ['policy', 'import']. */
  path: string[];
  /** One line for the command lists. */
  summary: string;
  /** Positional arguments in the usage line, e.g. "FILE". */
  positionals?: string;
  flags: S;
  /** Short flags, e.g. { '-s': '--src' }; -o (--output) and -H (--host) are always known. */
  aliases?: Record<string, string>;
  run(ctx: CliContext, args: ParsedFlags<S>): Promise<number>;
}

/** Defines a command, keeping its flag types for `run`. */
export function defineCommand<const S extends FlagSpecs>(command: CliCommand<S>): CliCommand {
  return command as unknown as CliCommand;
}

/** The --host flag of every command that talks to the agent. */
export const hostFlag = {
  host: {
    type: 'string',
    default: DEFAULT_AGENT_HOST,
    env: 'CILIUM_HOST',
    description: 'agent address: unix:///path or host:port (short: -H)',
  },
} as const;

/** The -o/--output flag. */
export const outputFlag = {
  output: { type: 'string', description: 'output format: "json" (default: text; short: -o)' },
} as const;

/** True for `-o json`, false for text; a usage error (exit 2) for anything else. */
export function wantsJson(output: string): boolean {
  if (output === '' || output === 'text') return false;
  if (output === 'json') return true;
  throw new CliError(`unknown output format "${output}"; use -o json, or leave it out for text`, 2);
}

/** Parses a numeric id argument, or throws a usage error naming `what`. */
export function parseId(raw: string | undefined, what: string): number {
  if (raw === undefined) throw new CliError(`missing ${what}; see --help`, 2);
  if (!/^\d+$/.test(raw) || Number(raw) > 0xffffffff) throw new CliError(`${what} "${raw}" is not a number`, 2);
  return Number(raw);
}

/** Fails with a usage error unless exactly `count` positionals were given. */
export function expectPositionals(positionals: string[], count: number, usage: string): void {
  if (positionals.length !== count) {
    throw new CliError(`expected ${usage}, got ${positionals.length === 0 ? 'nothing' : positionals.join(' ')}; see --help`, 2);
  }
}
