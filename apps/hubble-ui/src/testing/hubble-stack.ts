// A real Hubble stack for the UI's tests and benchmarks: a fake agent (hubble-server's
// test agent, the compat record set: pods in two namespaces, forwarded and dropped flows,
// policy verdicts, reserved identities), two real hubble-servers fed by it (n1 also reads
// the L7 access records of a fake proxy, testing/fake-access-log.ts), the real hubble-relay
// merging them, and the hubble-ui backend on a free loopback port. Each process is killed by
// stop(), also after a failed test.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { FakeAccessLog } from './fake-access-log.js';

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const SERVER_MAIN = join(REPO, 'apps/hubble-server/dist/main.js');
const FAKE_AGENT_MAIN = join(REPO, 'apps/hubble-server/dist/testing/fake-agent-main.js');
const RELAY_MAIN = join(REPO, 'apps/hubble-relay/dist/main.js');
const UI_MAIN = join(REPO, 'apps/hubble-ui/dist/main.js');
const NODES = ['n1', 'n2'];

/** HubbleStack is a running stack. */
export class HubbleStack {
  readonly dir = mkdtempSync(join(tmpdir(), 'cts-hubble-ui-'));
  readonly relayAddress = `unix://${join(this.dir, 'relay.sock')}`;
  url = '';
  /** n1's L7 proxy access log: records sent there become n1's L7 flows. */
  readonly accessLog = new FakeAccessLog(join(this.dir, 'proxy.sock'));
  private readonly children = new Set<ChildProcess>();
  private relay: ChildProcess | undefined;
  private fake: ChildProcess | undefined;
  private readonly fakeLines: string[] = [];

  private start(main: string, args: string[], stderr: 'inherit' | 'pipe' = 'inherit'): ChildProcess {
    const child = spawn(process.execPath, [main, ...args], { stdio: ['ignore', 'ignore', stderr], env: { ...process.env, CILIUM_LOG_LEVEL: stderr === 'pipe' ? 'info' : 'warn' } });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  /** fakeCommand sends a line to the fake agent and waits for the reply line starting with `reply`. */
  fakeCommand(line: string, reply: string): Promise<string> {
    return new Promise((resolve) => {
      const check = (): void => {
        const i = this.fakeLines.findIndex((l) => l.startsWith(reply));
        if (i >= 0) resolve(this.fakeLines.splice(i, 1)[0]!);
        else setTimeout(check, 20);
      };
      this.fake!.stdin!.write(`${line}\n`);
      check();
    });
  }

  private async until(what: string, check: () => Promise<boolean>): Promise<void> {
    for (let i = 0; ; i++) {
      if (await check()) return;
      if (i > 600) throw new Error(`hubble stack: ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** up starts the agent, servers, relay and UI; records are sent with blast(). */
  async up(uiArgs: string[] = []): Promise<void> {
    const fake = spawn(process.execPath, [FAKE_AGENT_MAIN, '--records', 'compat', ...NODES.flatMap((n) => ['--socket', join(this.dir, `${n}-agent.sock`)])], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.fake = fake;
    this.children.add(fake);
    createInterface({ input: fake.stdout! }).on('line', (l) => this.fakeLines.push(l));
    await this.fakeCommand('', 'ready');
    await this.accessLog.start();
    for (const n of NODES) {
      const proxyArgs = n === 'n1' ? ['--proxy-address', this.accessLog.address] : [];
      this.start(SERVER_MAIN, ['--agent-socket', `unix://${join(this.dir, `${n}-agent.sock`)}`, '--listen-address', `unix://${join(this.dir, `${n}-hubble.sock`)}`, '--node-name', n, '--metrics', '', ...proxyArgs]);
    }
    this.startRelay();
    await this.until('hubble-servers did not subscribe to their fake agents', async () => (await this.fakeCommand('subscribers', 'subscribers ')) === 'subscribers 1,1');
    await this.until('hubble-servers did not watch the agents\' metadata', async () => (await this.fakeCommand('watchers', 'watchers ')) === 'watchers 1,1');
    await this.until('n1\'s hubble-server did not follow the proxy access log', async () => this.accessLog.subscriberCount === 1);
    const ui = this.start(UI_MAIN, ['--listen-address', '127.0.0.1:0', '--relay-address', this.relayAddress, ...uiArgs], 'pipe');
    this.url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: ui.stderr! }).on('line', (l) => {
        const m = /"url":"(http:[^"]+)"/.exec(l);
        if (m && l.includes('hubble-ui ready')) resolve(m[1]!);
        else if (/"level":"(error|warn)"/.test(l) && !l.includes('relay GetFlows failed')) process.stderr.write(`hubble-ui: ${l}\n`);
      });
      ui.once('exit', (code) => reject(new Error(`hubble-ui exited (${code}) before it was ready`)));
      setTimeout(() => reject(new Error('hubble-ui did not log "hubble-ui ready" within 60 s')), 60_000).unref();
    });
  }

  /** startRelay starts (or restarts) the relay. */
  startRelay(): void {
    this.relay = this.start(RELAY_MAIN, ['--listen-address', this.relayAddress, '--static-peers', NODES.map((n) => `${n}=unix://${join(this.dir, `${n}-hubble.sock`)}`).join(','), '--node-name', 'relay', '--retry-timeout', '1s']);
  }

  /** killRelay kills the relay at once (a crash) and waits for it to be gone. */
  async killRelay(): Promise<void> {
    const r = this.relay;
    if (r === undefined || r.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      r.once('exit', () => resolve());
      r.kill('SIGKILL');
    });
    rmSync(this.relayAddress.slice('unix://'.length), { force: true });
  }

  /** blast sends the record set `times` times to both servers. */
  async blast(times: number): Promise<void> {
    await this.fakeCommand(`blast ${times * 31}`, 'blasted ');
  }

  /** stop kills every process and removes the directory. */
  async stop(): Promise<void> {
    await Promise.all([...this.children].map((c) => new Promise<void>((resolve) => {
      if (c.exitCode !== null || c.signalCode !== null) return resolve();
      c.once('exit', () => resolve());
      c.kill('SIGKILL');
    })));
    this.accessLog.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
