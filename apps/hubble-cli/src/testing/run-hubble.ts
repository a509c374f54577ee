// Runs the built CLI (dist/main.js) as a child process with stdin ignored (HUBBLE-API.md §4: a FIFO stdin switches upstream to offline mode).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../main.js', import.meta.url));

/** What one CLI run printed and how it exited. */
export interface HubbleRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `hubble <args>` with exactly `env`; kills it after 20 s. */
export function runHubble(args: string[], env: NodeJS.ProcessEnv): Promise<HubbleRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
