// Long-running lab processes: started detached (own session and process group) with output
// to a log file, found again by pid (checked against the command line) or by the lab's
// environment marker, and stopped with SIGTERM, then SIGKILL after a timeout.
import { spawn } from 'node:child_process';
import { closeSync, fchmodSync, mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { labEnvVar } from './layout.js';

/** Mode of log files (daemons log addresses, identities and flows: owner only) and of new log folders. */
export const logFileMode = 0o600;
export const logDirMode = 0o700;

/** Starts argv detached (setsid) with stdout/stderr appended to logFile (mode 0600); returns its pid. */
export function spawnDetached(argv: readonly string[], logFile: string, labName: string, env: NodeJS.ProcessEnv = {}): number {
  mkdirSync(dirname(logFile), { recursive: true, mode: logDirMode });
  const fd = openSync(logFile, 'a', logFileMode);
  try {
    fchmodSync(fd, logFileMode);
    const [cmd, ...args] = argv;
    const child = spawn(cmd!, args, {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: { ...process.env, ...env, [labEnvVar]: labName },
    });
    if (child.pid === undefined) throw new Error(`could not start ${cmd}`);
    child.on('error', () => undefined);
    child.unref();
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/** The NUL-separated command line of a pid joined with spaces, or undefined if it is gone. */
export function cmdlineOf(pid: number): string | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw.length === 0 ? undefined : raw.split('\0').join(' ');
  } catch {
    return undefined;
  }
}

/** True if pid runs and (when given) its command line contains match; zombies count as gone. */
export function isAlive(pid: number | null | undefined, match?: string): boolean {
  if (!pid || pid <= 0) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return false;
  } catch {
    return false;
  }
  if (match === undefined) return true;
  return cmdlineOf(pid)?.includes(match) ?? false;
}

/** Pids of processes whose environment carries CTS_LAB=<labName> (processes the lab started). */
export function findLabProcesses(labName: string): number[] {
  const marker = `${labEnvVar}=${labName}`;
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      if (env.includes(marker)) out.push(pid);
    } catch {
      // gone or not readable
    }
  }
  return out;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Signals the process group of pid (falls back to the pid alone). */
function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
}

/**
 * Stops pid (and its process group): SIGTERM, then SIGKILL if it still runs after timeoutMs.
 * Does nothing when the pid is gone or its command line no longer contains match.
 * Returns how it ended.
 */
export async function stopProcess(
  pid: number | null | undefined,
  match: string | undefined,
  timeoutMs = 5000,
): Promise<'not-running' | 'terminated' | 'killed'> {
  if (!pid || !isAlive(pid, match)) return 'not-running';
  signal(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return 'terminated';
    await sleep(50);
  }
  signal(pid, 'SIGKILL');
  for (let k = 0; k < 40 && isAlive(pid); k++) await sleep(50);
  return 'killed';
}

/** Last n lines of a log file ('' when missing). */
export function tailFile(path: string, n = 15): string {
  try {
    const lines = readFileSync(path, 'utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    return lines.slice(-n).join('\n');
  } catch {
    return '';
  }
}
