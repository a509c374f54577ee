// The dispatcher: finds the command named by the leading words of argv, parses its
// flags, runs it, and turns every failure into a message on stderr and an exit status.
import { FlagError, HelpRequested, defineFlags } from '@cilium-ts/process';
import { AgentCallError, AgentConnection } from './agent-connection.js';
import { askOnTerminal, CliError, type CliContext, type CliOutput } from './cli-context.js';
import type { CliCommand } from './command.js';
import { BPF_COMMANDS } from './commands/bpf.js';
import { cleanupCommand } from './commands/cleanup.js';
import { configCommand } from './commands/config.js';
import { debuginfoCommand } from './commands/debuginfo.js';
import { makeCompletionCommand } from './commands/completion.js';
import { endpointConfigCommand, endpointGetCommand, endpointListCommand } from './commands/endpoint.js';
import { ENDPOINT_OPS_COMMANDS } from './commands/endpoint-ops.js';
import { identityGetCommand, identityListCommand } from './commands/identity.js';
import { ipamListCommand } from './commands/ipam.js';
import { FQDN_COMMANDS } from './commands/fqdn.js';
import { KVSTORE_COMMANDS } from './commands/kvstore.js';
import { MAP_COMMANDS } from './commands/map.js';
import { monitorCommand } from './commands/monitor.js';
import { nodeListCommand } from './commands/node.js';
import { policyDeleteCommand, policyGetCommand, policyImportCommand, policyValidateCommand } from './commands/policy.js';
import { policySelectorsCommand } from './commands/policy-selectors.js';
import { policyTraceCommand } from './commands/policy-trace.js';
import { policyWaitCommand } from './commands/policy-wait.js';
import { SERVICE_COMMANDS } from './commands/service.js';
import { statusCommand } from './commands/status.js';
import { versionCommand } from './commands/version.js';

/** Every command of the CLI, in help order. */
export const COMMANDS: readonly CliCommand[] = [
  statusCommand,
  configCommand,
  endpointListCommand,
  endpointGetCommand,
  endpointConfigCommand,
  ...ENDPOINT_OPS_COMMANDS,
  identityListCommand,
  identityGetCommand,
  policyImportCommand,
  policyGetCommand,
  policyDeleteCommand,
  policyValidateCommand,
  policyWaitCommand,
  policyTraceCommand,
  policySelectorsCommand,
  ipamListCommand,
  nodeListCommand,
  ...SERVICE_COMMANDS,
  ...BPF_COMMANDS,
  ...MAP_COMMANDS,
  ...KVSTORE_COMMANDS,
  ...FQDN_COMMANDS,
  monitorCommand,
  debuginfoCommand,
  cleanupCommand,
  versionCommand,
  makeCompletionCommand(() => COMMANDS),
];

const GLOBAL_ALIASES: Readonly<Record<string, string>> = { '-o': '--output', '-H': '--host' };

/** Options of runCli; each defaults to the real process. */
export interface RunOptions {
  stdout?: CliOutput;
  stderr?: CliOutput;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  signal?: AbortSignal;
  /** Answers yes/no questions (default: ask on the terminal; undefined without one). */
  confirm?: CliContext['confirm'];
}

function listing(commands: readonly CliCommand[]): string {
  const names = commands.map((c) => c.path.join(' ') + (c.positionals ? ` ${c.positionals}` : ''));
  const width = Math.max(...names.map((n) => n.length));
  return commands.map((c, i) => `  ${names[i]!.padEnd(width)}  ${c.summary}`).join('\n') + '\n';
}

/** The top-level (or group, e.g. "policy") help text. */
export function helpText(group?: string): string {
  const commands = group ? COMMANDS.filter((c) => c.path[0] === group) : COMMANDS;
  const head = group ? `Usage: cilium ${group} COMMAND [flags]\n\nCommands:\n` : 'Usage: cilium COMMAND [flags]\n\nCLI for the cilium-ts agent.\n\nCommands:\n';
  return `${head}${listing(commands)}\nRun 'cilium ${group ? `${group} ` : ''}COMMAND --help' for the flags of a command.\n`;
}

function findCommand(argv: readonly string[]): CliCommand | undefined {
  let best: CliCommand | undefined;
  for (const c of COMMANDS) {
    if (c.path.every((w, i) => argv[i] === w) && (!best || c.path.length > best.path.length)) best = c;
  }
  return best;
}

function expandAliases(argv: readonly string[], aliases: Readonly<Record<string, string>>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 && !a.startsWith('--') ? a.slice(0, eq) : a;
    const long = aliases[name];
    out.push(long === undefined ? a : eq > 0 && name !== a ? `${long}=${a.slice(eq + 1)}` : long);
  }
  return out;
}

/**
 * Moves global flags written before the command (`cilium --host X status`, as upstream's
 * CLI allows) after it, where the command's flag parser reads them.
 */
export function hoistGlobalFlags(argv: readonly string[]): string[] {
  const lead: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const a = argv[i]!;
    if (a === '--host' || a === '-H') {
      if (i + 1 >= argv.length) break;
      lead.push('--host', argv[i + 1]!);
      i += 2;
    } else if (a.startsWith('--host=')) {
      lead.push(a);
      i += 1;
    } else break;
  }
  return lead.length === 0 ? [...argv] : [...argv.slice(i), ...lead];
}

/** Runs the CLI with `argv` (without node and script); resolves with the exit status. */
export async function runCli(rawArgv: readonly string[], options: RunOptions = {}): Promise<number> {
  const argv = hoistGlobalFlags(rawArgv);
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const connections: AgentConnection[] = [];
  const ctx: CliContext = {
    stdout,
    stderr,
    env: options.env ?? process.env,
    cwd: options.cwd ?? process.cwd(),
    signal: options.signal ?? new AbortController().signal,
    confirm: options.confirm ?? askOnTerminal,
    connect(host) {
      const conn = new AgentConnection(host);
      connections.push(conn);
      return conn;
    },
  };
  const command = findCommand(argv);
  if (!command) {
    const first = argv[0];
    if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
      stdout.write(helpText());
      return 0;
    }
    if (COMMANDS.some((c) => c.path.length > 1 && c.path[0] === first)) {
      const second = argv[1];
      if (second === undefined || second === '--help' || second === '-h') {
        stdout.write(helpText(first));
        return 0;
      }
      stderr.write(`cilium ${first}: unknown command "${second}"\n\n${helpText(first)}`);
      return 2;
    }
    stderr.write(`cilium: unknown command "${first}"\n\n${helpText()}`);
    return 2;
  }
  const program = `cilium ${command.path.join(' ')}`;
  const flags = defineFlags(command.flags, { program, summary: command.summary, positionals: command.positionals });
  try {
    const parsed = flags.parse(expandAliases(argv.slice(command.path.length), { ...GLOBAL_ALIASES, ...command.aliases }), ctx.env);
    return await command.run(ctx, parsed);
  } catch (err) {
    if (err instanceof HelpRequested) {
      stdout.write(flags.usage());
      return 0;
    }
    if (err instanceof FlagError) {
      stderr.write(`${program}: ${err.message}\n`);
      return 2;
    }
    if (err instanceof CliError) {
      stderr.write(`Error: ${err.message}\n`);
      return err.exitCode;
    }
    if (err instanceof AgentCallError) {
      stderr.write(`Error: ${err.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    for (const c of connections) c.close();
  }
}
