// What a command runs with: its output streams, the environment, and the agent.
import { createInterface } from 'node:readline/promises';
import { AgentConnection } from './agent-connection.js';

/** Where a command writes; process.stdout/stderr in the executable, buffers in tests. */
export interface CliOutput {
  write(text: string): void;
}

/** The world a command sees. */
export interface CliContext {
  stdout: CliOutput;
  stderr: CliOutput;
  env: NodeJS.ProcessEnv;
  /** Resolves relative file arguments. */
  cwd: string;
  /** Connects to the agent at `host` (the connection is closed by the dispatcher). */
  connect(host: string): AgentConnection;
  /** Aborted on Ctrl-C; streaming commands stop when it fires. */
  signal: AbortSignal;
  /** Asks the user a yes/no question on the terminal; undefined when stdin is not a terminal. */
  confirm(question: string): Promise<boolean | undefined>;
}

/** Asks `question` on the terminal ([y/N]); undefined when stdin or stderr is not a terminal. */
export async function askOnTerminal(question: string): Promise<boolean | undefined> {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return undefined;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

/** A failure a command reports to the user: the message is printed, the process exits with `exitCode`. */
export class CliError extends Error {
  override readonly name = 'CliError';
  /** The process exit status (1 for failures, 2 for usage errors). */
  readonly exitCode: number;
  constructor(message: string, exitCode = 1, options?: { cause?: unknown }) {
    super(message, options);
    this.exitCode = exitCode;
  }
}

function isTimestamp(v: unknown): v is { seconds: bigint; nanos: number } {
  return typeof v === 'object' && v !== null && typeof (v as { seconds?: unknown }).seconds === 'bigint' && typeof (v as { nanos?: unknown }).nanos === 'number' && Object.keys(v).length === 2;
}

/** JSON.stringify replacer for generated messages: bigints as strings, Timestamps as RFC 3339, bytes as base64. */
export function protoJsonReplacer(this: unknown, key: string, v: unknown): unknown {
  const raw = (this as Record<string, unknown> | undefined)?.[key];
  if (Buffer.isBuffer(raw)) return raw.toString('base64');
  if (typeof v === 'bigint') return v.toString();
  if (isTimestamp(v)) {
    const ms = Number(v.seconds) * 1000 + Math.floor(v.nanos / 1e6);
    return new Date(ms).toISOString().replace(/\.\d{3}Z$/, `.${String(v.nanos).padStart(9, '0')}Z`);
  }
  return v;
}

/** Prints `value` as indented JSON: every field, with protoJsonReplacer's conversions. */
export function printJson(out: CliOutput, value: unknown): void {
  out.write(JSON.stringify(value, protoJsonReplacer, 2) + '\n');
}

/** Formats rows as an aligned text table with a header. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('   ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}
