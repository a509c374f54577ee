// Child processes for tests and benchmarks that run real hubble-servers: the built
// hubble-server (apps/hubble-server/dist/main.js) and its fake agent process. They are reached
// by path, not imported (apps may not import apps); nx builds hubble-server first
// (implicitDependencies in package.json).
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** Path of hubble-server's entry point. */
export const HUBBLE_SERVER_MAIN = fileURLToPath(new URL('../../../hubble-server/dist/main.js', import.meta.url));
/** Path of hubble-server's fake agent process. */
export const FAKE_AGENT_MAIN = fileURLToPath(new URL('../../../hubble-server/dist/testing/fake-agent-main.js', import.meta.url));

/** A free TCP port on 127.0.0.1 (closed again before it is returned). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** A fake agent process driven through its stdin command protocol. */
export class FakeAgentProcess {
  private readonly waiters: { prefix: string; resolve: (line: string) => void }[] = [];

  private constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const i = this.waiters.findIndex((w) => line.startsWith(w.prefix));
      if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(line);
    });
  }

  /** Starts one serving every socket; resolves once it prints `ready`. */
  static async start(sockets: string[], intervalMs = 0): Promise<FakeAgentProcess> {
    const args = [FAKE_AGENT_MAIN, ...sockets.flatMap((s) => ['--socket', s]), '--interval-ms', String(intervalMs)];
    const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    const fake = new FakeAgentProcess(child);
    const ready = fake.next('ready');
    const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`fake agent exited with ${code} before it was ready`))));
    await Promise.race([ready, exited]);
    return fake;
  }

  /** Resolves with the next stdout line starting with `prefix`. */
  next(prefix: string): Promise<string> {
    return new Promise((resolve) => this.waiters.push({ prefix, resolve }));
  }

  /** Sends a command line (`blast N`, `subscribers`, `pause`, `resume`). */
  command(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }

  /** Monitor subscribers per socket. */
  async subscribers(): Promise<number[]> {
    const reply = this.next('subscribers ');
    this.command('subscribers');
    return (await reply).slice('subscribers '.length).split(',').map(Number);
  }

  /** Sends `count` records to every subscriber as fast as they are accepted; resolves when done. */
  async blast(count: number): Promise<void> {
    const done = this.next('blasted ');
    this.command(`blast ${count}`);
    await done;
  }

  /** Ends the process. */
  stop(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** Spawns hubble-server with `args` (stderr inherited, so failures show in the test output). */
export function spawnHubbleServer(args: string[]): ChildProcess {
  return spawn(process.execPath, [HUBBLE_SERVER_MAIN, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Kills a child with SIGKILL (if alive) and resolves once it is gone. */
export function killHard(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}
