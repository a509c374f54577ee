// Runs the built plugin (dist/main.js) the way a container runtime does: CNI_* in the
// environment, the network config on stdin, the answer on stdout. Asynchronous, so a
// fake agent in the calling process keeps serving meanwhile.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The plugin's executable, next to this file's compiled folder. */
export const PLUGIN_MAIN = fileURLToPath(new URL('../main.js', import.meta.url));

/** The outcome of one plugin run. */
export interface PluginRun {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON, or undefined when it is empty. */
  json: Record<string, unknown> | undefined;
}

/** Runs the plugin with `cniEnv` (merged over a minimal environment) and `stdin`; `nodeNetns` runs it via `ip netns exec`. */
export function runPlugin(cniEnv: Record<string, string>, stdin: string, nodeNetns?: string): Promise<PluginRun> {
  const argv = nodeNetns ? ['ip', 'netns', 'exec', nodeNetns, process.execPath, PLUGIN_MAIN] : [process.execPath, PLUGIN_MAIN];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...cniEnv } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (exitCode) => {
      let json: Record<string, unknown> | undefined;
      if (stdout.trim() !== '') {
        try {
          json = JSON.parse(stdout) as Record<string, unknown>;
        } catch {
          reject(new Error(`plugin printed non-JSON on stdout: ${stdout}\nstderr: ${stderr}`));
          return;
        }
      }
      resolve({ exitCode, stdout, stderr, json });
    });
    child.stdin.end(stdin);
  });
}
