// What a command runs with: its output streams, the environment, and the agent.
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

/** Prints `value` as indented JSON, bigints as strings. */
export function printJson(out: CliOutput, value: unknown): void {
  out.write(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2) + '\n');
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
