#!/usr/bin/env node
// Relay-only benchmark: three fake hubble-servers (one process, pre-encoded flows, next to no
// cost per flow) -> hubble-relay (its own process, dist/main.js) -> this client, against the
// baseline of this client reading the same three fake servers directly (three streams, no
// relay), interleaved and repeated in one run. Reports flows/s, the ratio to the baseline, the
// relay's CPU per flow (/proc, user + system), and flows out of time order (the fake nodes'
// times interleave, so the relay has to merge; a burst from one node larger than the sort
// buffer, --sort-buffer-len-max 100, goes out ahead of the others, as upstream).
//   node dist/bench/relay-bench.js [--flows-per-peer 50000] [--rounds 3] [--relay-main dist/main.js]
// RELAY_BENCH_PROFILE_DIR=/tmp/prof writes a V8 CPU profile of the relay.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { observer } from '@cilium-ts/api';
import { RawClientStream, type RawStatus } from '@cilium-ts/grpc';
import { scanGetFlowsResponse } from '../wire-response.js';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function spawnNode(args: string[]): ChildProcess {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function waitLine(child: ChildProcess, prefix: string, what: string): Promise<void> {
  return new Promise((res, rej) => {
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (l) => {
      if (l.startsWith(prefix)) res();
    });
    child.once('exit', (code) => rej(new Error(`relay-bench: ${what} exited with ${code}`)));
  });
}

/** CPU time (user + system) a process used so far, in ms (clock ticks of 10 ms). */
function cpuMs(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return NaN;
  }
}

/** One measured read. */
interface Run {
  flows: number;
  seconds: number;
  outOfOrder: number;
  relayCpuUsPerFlow: number;
}

/** Reads GetFlows(number = perPeer) from every target at once until every call ended. */
function readAll(targets: string[], perPeer: number, relayPid: number | undefined): Promise<Run> {
  const request = observer.GetFlowsRequest.encode(observer.GetFlowsRequest.fromPartial({ number: BigInt(perPeer) })).finish();
  return new Promise((res, rej) => {
    let flows = 0;
    let outOfOrder = 0;
    let open = targets.length;
    const cpu0 = cpuMs(relayPid);
    const t0 = process.hrtime.bigint();
    for (const target of targets) {
      let lastS = -Infinity;
      let lastN = 0;
      new RawClientStream({ target, path: '/observer.Observer/GetFlows', request }, {
        message(bytes) {
          const r = scanGetFlowsResponse(bytes);
          if (r.kind !== 'flow') return;
          flows++;
          if (r.sec < lastS || (r.sec === lastS && r.nsec < lastN)) outOfOrder++;
          lastS = r.sec;
          lastN = r.nsec;
        },
        status(s: RawStatus) {
          if (s.code !== 0) {
            rej(new Error(`relay-bench: GetFlows from ${target} failed: ${s.code} ${s.details}`));
            return;
          }
          if (--open > 0) return;
          const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
          const cpu = cpuMs(relayPid) - cpu0;
          res({ flows, seconds, outOfOrder, relayCpuUsPerFlow: relayPid === undefined ? NaN : (cpu * 1000) / flows });
        },
      });
    }
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor(s.length / 2)]!;
};

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let perPeer = 50_000;
  let rounds = 3;
  let relayMain = here('../main.js');
  for (let i = 0; i < argv.length; i += 2) {
    if (argv[i] === '--flows-per-peer') perPeer = Number(argv[i + 1]);
    else if (argv[i] === '--rounds') rounds = Number(argv[i + 1]);
    else if (argv[i] === '--relay-main') relayMain = resolve(argv[i + 1]!);
    else throw new Error(`relay-bench: unknown argument "${argv[i]}"`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'cts-relay-bench-'));
  try {
    const sockets = [1, 2, 3].map((i) => join(dir, `peer-${i}.sock`));
    const fakes = spawnNode([here('./fake-peers-main.js'), '--flows-per-peer', String(perPeer), ...sockets.flatMap((s) => ['--socket', s])]);
    await waitLine(fakes, 'ready', 'the fake peers');
    const relaySock = join(dir, 'relay.sock');
    const profile = process.env.RELAY_BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.RELAY_BENCH_PROFILE_DIR}`] : [];
    const relay = spawnNode([...profile, relayMain, '--listen-address', `unix://${relaySock}`, '--log-level', 'error',
      '--static-peers', sockets.map((s, i) => `node-${i + 1}=unix://${s}`).join(',')]);
    const relayTarget = `unix://${relaySock}`;
    // Ready once a relayed call returns every flow (the peers are dialled in the background).
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = await readAll([relayTarget], perPeer, undefined).catch(() => undefined);
      if (r && r.flows === perPeer * 3) break;
      if (Date.now() > deadline) throw new Error('relay-bench: the relay did not relay every flow within 30 s');
      await new Promise((r2) => setTimeout(r2, 200));
    }
    const direct: Run[] = [];
    const relayed: Run[] = [];
    for (let i = 0; i < rounds; i++) {
      direct.push(await readAll(sockets.map((s) => `unix://${s}`), perPeer, undefined));
      relayed.push(await readAll([relayTarget], perPeer, relay.pid));
    }
    const rate = (r: Run) => r.flows / r.seconds;
    const baseRate = median(direct.map(rate));
    const relayRate = median(relayed.map(rate));
    const rows = [
      ['scenario', 'flows', 'flows/s', 'x base', 'relay CPU us/flow', 'out of order'],
      ['baseline: 3 fake servers -> client (3 streams)', String(direct[0]!.flows), baseRate.toFixed(0), '1.00', 'n/a', String(Math.max(...direct.map((r) => r.outOfOrder)))],
      ['relay: 3 fake servers -> relay -> client', String(relayed[0]!.flows), relayRate.toFixed(0), (relayRate / baseRate).toFixed(2),
        median(relayed.map((r) => r.relayCpuUsPerFlow)).toFixed(2), String(Math.max(...relayed.map((r) => r.outOfOrder)))],
    ];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
    console.log([
      '',
      `Relay only: ${perPeer} pre-encoded flows from each of 3 fake servers (one process), medians of ${rounds} interleaved rounds, on ${cpus().length} CPUs (load ${loadavg()[0]!.toFixed(1)}), node ${process.version}.`,
      'x base: relayed rate / the same client reading the fake servers directly. relay CPU: user + system of the relay process per flow.',
      'out of order: flows older than the one before on the same stream (relayed: the merged stream; bursts beyond the 100-flow sort buffer, as upstream).',
    ].join('\n'));
    await new Promise<void>((res) => {
      relay.once('exit', () => res());
      relay.kill('SIGTERM');
    });
    fakes.kill('SIGTERM');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
