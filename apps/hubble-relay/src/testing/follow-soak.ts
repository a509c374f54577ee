// The follow-caller soak shared by relay-memory.test.ts and bench/relay-soak.ts: rounds of
// many follow-mode GetFlows callers (a child process, killed at the end of each round like
// `hubble observe -f` under `timeout`) against a relay over two fake hubble-servers that
// keep sending flows (another child process), sampling the memory of this process, where
// only the relay runs, after forced garbage collection, and the relay's per-call state
// before, during and after each round.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { PeerSpec } from '../peer-connection.js';
import { eventually, tempDir } from './fake-hubble.js';
import { killHard } from './processes.js';

/** What the soak needs of a relay (also met by older builds, for the benchmark's baseline). */
export interface SoakRelay {
  readonly addresses: string[];
  readonly peers: { list(): { available: boolean }[]; listenerCount(event: string): number; readonly watcherCount?: number };
  readonly stats: { calls: number; peerStreams: number };
  stop(): Promise<void>;
}

/** One measurement of the relay process. */
export interface SoakSample {
  phase: 'before' | 'during' | 'after';
  /** 0-based round; -1 for the sample before the first round. */
  round: number;
  /** process.memoryUsage() (after forced GC unless SoakOptions.noGc), bytes. */
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** Pool watchers plus 'change' listeners on the peer pool (one per follow call, plus the relay's own). */
  poolListeners: number;
  calls: number;
  peerStreams: number;
}

/** Options of one soak run. */
export interface SoakOptions {
  /** Starts the relay under test on 127.0.0.1 with these static peers. */
  start(staticPeers: PeerSpec[]): Promise<SoakRelay>;
  /** Follow calls per round. */
  calls: number;
  rounds: number;
  /** Called with each sample as it is taken. */
  onSample?: (s: SoakSample) => void;
  /** Sample without forcing garbage collection first (what `ps` sees); default false. */
  noGc?: boolean;
}

const CLIENTS_MAIN = fileURLToPath(new URL('./follow-clients-main.js', import.meta.url));
const NODES_MAIN = fileURLToPath(new URL('./fake-nodes-main.js', import.meta.url));

let gcFn: (() => void) | undefined;

/** forceGc runs a full garbage collection (exposing V8's gc() in this process on first use). */
export async function forceGc(): Promise<void> {
  if (gcFn === undefined) {
    setFlagsFromString('--expose-gc');
    gcFn = runInNewContext('gc') as () => void;
  }
  // Several passes with turns between them: finalizers and weak callbacks run in between.
  for (let i = 0; i < 3; i++) {
    gcFn();
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function sample(relay: SoakRelay, phase: SoakSample['phase'], round: number, gc: boolean): Promise<SoakSample> {
  if (gc) await forceGc();
  const m = process.memoryUsage();
  return {
    phase,
    round,
    rss: m.rss,
    heapUsed: m.heapUsed,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    poolListeners: (relay.peers.watcherCount ?? 0) + relay.peers.listenerCount('change'),
    calls: relay.stats.calls,
    peerStreams: relay.stats.peerStreams,
  };
}

/** Runs `main` with `args`; resolves with the child and its stdout lines once a line starts with `prefix`. */
function spawnUntil(main: string, args: string[], prefix: string, what: string): Promise<{ child: ChildProcess; first: string; lines: ReturnType<typeof createInterface> }> {
  const child = spawn(process.execPath, [main, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  return new Promise((resolve, reject) => {
    const onLine = (line: string): void => {
      if (!line.startsWith(prefix)) return;
      lines.off('line', onLine);
      resolve({ child, first: line, lines });
    };
    lines.on('line', onLine);
    child.once('exit', (code, signal) => reject(new Error(`${what} exited (${code ?? signal}) before it was ready`)));
  });
}

/** The fake nodes' open follow calls, asked over the child's stdin. */
function followers(nodes: { child: ChildProcess; lines: ReturnType<typeof createInterface> }): Promise<number[]> {
  return new Promise((resolve) => {
    const onLine = (line: string): void => {
      if (!line.startsWith('followers ')) return;
      nodes.lines.off('line', onLine);
      resolve(line.slice('followers '.length).split(',').map(Number));
    };
    nodes.lines.on('line', onLine);
    nodes.child.stdin!.write('followers\n');
  });
}

/** runFollowSoak runs the rounds and returns every sample (before, then during and after each round). */
export async function runFollowSoak(opts: SoakOptions): Promise<SoakSample[]> {
  const tmp = tempDir('cts-relay-soak-');
  let relay: SoakRelay | undefined;
  let nodes: Awaited<ReturnType<typeof spawnUntil>> | undefined;
  let clients: ChildProcess | undefined;
  const samples: SoakSample[] = [];
  const take = async (phase: SoakSample['phase'], round: number): Promise<void> => {
    const s = await sample(relay!, phase, round, opts.noGc !== true);
    samples.push(s);
    opts.onSample?.(s);
  };
  const nodeFollowers = async (): Promise<number[]> => followers(nodes!);
  try {
    nodes = await spawnUntil(NODES_MAIN, [tmp.dir, '2'], 'ready ', 'the fake nodes');
    const addresses = nodes.first.slice('ready '.length).split(',');
    relay = await opts.start(addresses.map((address, i) => ({ name: `soak-${i + 1}`, address })));
    await eventually('both fake nodes available', () => (relay!.peers.list().filter((p) => p.available).length === 2 ? true : undefined), 20_000);
    await take('before', -1);
    for (let round = 0; round < opts.rounds; round++) {
      clients = (await spawnUntil(CLIENTS_MAIN, [relay.addresses[0]!, String(opts.calls)], 'ready', 'the follow clients')).child;
      await eventually('every call followed on both nodes', async () => ((await nodeFollowers()).every((n) => n === opts.calls) ? true : undefined), 60_000);
      await take('during', round);
      await killHard(clients);
      clients = undefined;
      await eventually(
        'the relay let go of every call',
        async () => (relay!.stats.calls === 0 && relay!.stats.peerStreams === 0 && (await nodeFollowers()).every((n) => n === 0) ? true : undefined),
        60_000,
      );
      await take('after', round);
    }
    return samples;
  } finally {
    await killHard(clients);
    await relay?.stop();
    await killHard(nodes?.child);
    tmp.remove();
  }
}
