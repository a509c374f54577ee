/**
 * Runs iproute2 and sysctl commands in the node's network namespace. On a real host
 * the node namespace is the agent's own (no path); in the lab each node is a network
 * namespace and the agent, which runs in the machine's namespace, reaches into it.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A command in the node namespace failed. */
export class NetnsCommandError extends Error {
  constructor(
    readonly command: string[],
    readonly stderr: string,
    readonly netns: string | undefined,
  ) {
    super(`${command.join(' ')}${netns ? ` (in netns ${netns})` : ''} failed: ${stderr.trim() || 'no output'}`);
    this.name = 'NetnsCommandError';
  }
}

/** Executes commands inside one network namespace (or the current one). */
export class NodeNetns {
  constructor(readonly path: string | undefined) {}

  /** Runs a command; resolves with stdout, rejects with NetnsCommandError. */
  async exec(cmd: string[], opts: { allowFail?: boolean } = {}): Promise<string> {
    const argv = this.path ? ['nsenter', `--net=${this.path}`, '--', ...cmd] : cmd;
    try {
      const { stdout } = await run(argv[0]!, argv.slice(1), { maxBuffer: 16 << 20 });
      return stdout;
    } catch (err) {
      if (opts.allowFail) return '';
      const e = err as { stderr?: string; message: string };
      throw new NetnsCommandError(cmd, e.stderr ?? e.message, this.path);
    }
  }

  /** `ip -j link show dev NAME`, or undefined when it does not exist. */
  async link(name: string): Promise<{ ifindex: number; address: string; operstate: string } | undefined> {
    const out = await this.exec(['ip', '-j', 'link', 'show', 'dev', name], { allowFail: true });
    if (!out.trim()) return undefined;
    const [l] = JSON.parse(out) as Array<{ ifindex: number; address: string; operstate: string }>;
    return l;
  }

  /** Writes a sysctl in this namespace. */
  async sysctl(key: string, value: string): Promise<void> {
    await this.exec(['sysctl', '-q', '-w', `${key}=${value}`]);
  }
}
