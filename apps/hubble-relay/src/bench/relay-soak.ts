#!/usr/bin/env node
// Follow-caller soak (issue 13 item 5): rounds of many `hubble observe -f`-like callers (a
// child process, killed at the end of each round) against an in-process relay over two fake
// nodes that keep sending flows; prints the relay process's memory before, during and after
// each round, after forced garbage collection and, with --no-gc, as the process holds it.
// --baseline-dist DIR runs the same soak first against another build's relay (its dist
// directory, e.g. one built from an earlier commit) in the same run, for comparison; each
// build runs in a fresh process of its own (--relay-dist DIR --label NAME), so that neither
// inherits the other's memory.
//   node dist/bench/relay-soak.js [--calls 200] [--rounds 3] [--no-gc] [--baseline-dist DIR]
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createLogger } from '@cilium-ts/process';
import type { PeerSpec } from '../peer-connection.js';
import { startRelay } from '../relay.js';
import { runFollowSoak, type SoakRelay, type SoakSample } from '../testing/follow-soak.js';

type Start = (opts: { listenAddresses: string[]; staticPeers: PeerSpec[]; logger: ReturnType<typeof createLogger> }) => Promise<SoakRelay>;

interface Args {
  calls: number;
  rounds: number;
  noGc: boolean;
  baseline: string | undefined;
  relayDist: string | undefined;
  label: string;
}

function parseArgs(argv: string[]): Args {
  const out: Args = { calls: 200, rounds: 3, noGc: false, baseline: undefined, relayDist: undefined, label: 'this' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--calls') out.calls = Number(argv[++i]);
    else if (a === '--rounds') out.rounds = Number(argv[++i]);
    else if (a === '--no-gc') out.noGc = true;
    else if (a === '--baseline-dist') out.baseline = argv[++i];
    else if (a === '--relay-dist') out.relayDist = argv[++i];
    else if (a === '--label') out.label = argv[++i] ?? '';
    else throw new Error(`relay-soak: unknown argument "${a}"`);
  }
  if (!(out.calls > 0) || !(out.rounds > 0)) throw new Error('relay-soak: --calls and --rounds must be positive numbers');
  return out;
}

const mb = (n: number): string => (n / (1024 * 1024)).toFixed(1).padStart(7);

function row(label: string, s: SoakSample): string {
  const phase = `${s.phase}${s.round >= 0 ? ` ${s.round + 1}` : ''}`.padEnd(9);
  return `${label.padEnd(9)} ${phase} ${mb(s.rss)} ${mb(s.heapUsed)} ${mb(s.arrayBuffers)} ${String(s.poolListeners).padStart(9)} ${String(s.calls).padStart(6)}`;
}

async function soak(args: Args): Promise<void> {
  const logger = createLogger('hubble-relay-soak', { level: 'error' });
  let start = startRelay as unknown as Start;
  if (args.relayDist !== undefined) {
    start = ((await import(pathToFileURL(resolve(args.relayDist, 'relay.js')).href)) as { startRelay: Start }).startRelay;
  }
  await runFollowSoak({
    calls: args.calls,
    rounds: args.rounds,
    noGc: args.noGc,
    start: (staticPeers) => start({ listenAddresses: ['127.0.0.1:0'], staticPeers, logger }),
    onSample: (s) => console.log(row(args.label, s)),
  });
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.relayDist !== undefined) {
    await soak(args);
    return;
  }
  console.log(`${args.calls} follow calls per round, ${args.rounds} rounds, memory ${args.noGc ? 'as held (no forced GC)' : 'after forced GC'} (MiB)`);
  console.log(`${'build'.padEnd(9)} ${'phase'.padEnd(9)} ${'rss'.padStart(7)} ${'heap'.padStart(7)} ${'arraybuf'.padStart(7)} ${'listeners'.padStart(9)} ${'calls'.padStart(6)}`);
  const builds: [string, string][] = [];
  if (args.baseline !== undefined) builds.push(['baseline', resolve(args.baseline)]);
  builds.push(['this', resolve(dirname(fileURLToPath(import.meta.url)), '..')]);
  for (const [label, dist] of builds) {
    const common = ['--calls', String(args.calls), '--rounds', String(args.rounds), ...(args.noGc ? ['--no-gc'] : [])];
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), ...common, '--relay-dist', dist, '--label', label], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`relay-soak: the ${label} run failed (${r.status ?? r.signal})`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`relay-soak: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
