// Runs the CLI in-process with captured stdout/stderr, for tests.
import { runCli } from '../cli.js';

/** The outcome of one CLI run. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `cilium <argv>` with `env` (CILIUM_HOST etc.) and `cwd`; never touches the real process streams. */
export async function cli(argv: string[], env: NodeJS.ProcessEnv = {}, cwd = process.cwd()): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: { write: (s) => void (stdout += s) },
    stderr: { write: (s) => void (stderr += s) },
    env,
    cwd,
  });
  return { code, stdout, stderr };
}
