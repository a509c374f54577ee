#!/usr/bin/env node
// End-to-end flow throughput and latency, every component a separate process, in one run:
//   baseline  grpc-js streaming pre-encoded GetFlowsResponse messages (bench/baseline-server)
//   server    fake agent -> hubble-server (decode, ring buffer, filter, stream) -> this client
//   relay     fake agent -> 3 hubble-servers -> hubble-relay (merge) -> this client
// Throughput: flows between the 1st and 99th percentile of arrivals over that time (the
// relay's sort buffer holds the last ~100 flows until its drain timeout). Latency: the
// agent's event stamp to the arrival here (same clock), under full load and at a paced rate.
// Lost: events the stream reported lost plus events that never arrived.
//   node dist/bench/flow-bench.js [--scenarios baseline,server,relay] [--flows 200000]
//       [--paced-rate 10000] [--relay-main ../hubble-relay/dist/main.js] [--buffer-capacity 65535]
// FLOW_BENCH_PROFILE_DIR=/tmp/prof writes a V8 CPU profile of every hubble-server (and relay).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { credentials, type ClientReadableStream } from '@grpc/grpc-js';
import { observer } from '@cilium-ts/api';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const SERVER_MAIN = here('../main.js');
const AGENT_MAIN = here('../testing/fake-agent-main.js');
const BASELINE_MAIN = here('./baseline-server.js');

/** Every child process started, killed when the benchmark exits however it exits. */
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** Spawns a node child process and tracks it. */
function spawnNode(args: string[], stdio: 'pipe' | 'quiet'): ChildProcess {
  const child = spawn(process.execPath, args, { stdio: stdio === 'pipe' ? ['pipe', 'pipe', 'inherit'] : ['ignore', 'ignore', 'inherit'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

const wallOffset = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
const nowNs = (): bigint => process.hrtime.bigint() + wallOffset;

interface Options {
  scenarios: string[];
  flows: number;
  pacedRate: number;
  relayMain?: string;
  /** hubble-server --buffer-capacity. */
  bufferCapacity: number;
}

function parseOptions(rawArgv: string[]): Options {
  // Accept `--flag value` and `--flag=value` (nx passes the latter through --args).
  const argv = rawArgv.flatMap((a) => (a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a]));
  const o: Options = { scenarios: ['baseline', 'server'], flows: 200_000, pacedRate: 10_000, bufferCapacity: 65535 };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1];
    if (argv[i] === '--scenarios' && v) o.scenarios = v.split(',');
    else if (argv[i] === '--flows' && v) o.flows = Number(v);
    else if (argv[i] === '--paced-rate' && v) o.pacedRate = Number(v);
    else if (argv[i] === '--relay-main' && v) o.relayMain = resolve(v);
    else if (argv[i] === '--buffer-capacity' && v) o.bufferCapacity = Number(v);
    else throw new Error(`flow-bench: unknown argument "${argv[i]}"`);
    i++;
  }
  if (o.scenarios.includes('relay') && !o.relayMain) throw new Error('flow-bench: the relay scenario needs --relay-main PATH (hubble-relay dist/main.js)');
  return o;
}

/** A child process whose stdout lines can be awaited and which takes stdin commands. */
class Proc {
  private readonly waiters: { prefix: string; resolve: (l: string) => void }[] = [];
  readonly child: ChildProcess;

  constructor(args: string[]) {
    this.child = spawnNode(args, 'pipe');
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      const i = this.waiters.findIndex((w) => line.startsWith(w.prefix));
      if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(line);
    });
  }

  next(prefix: string): Promise<string> {
    return new Promise((res) => this.waiters.push({ prefix, resolve: res }));
  }

  async command(line: string, reply: string): Promise<string> {
    const r = this.next(reply);
    this.child.stdin!.write(`${line}\n`);
    return r;
  }

  stop(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => (typeof a === 'object' && a ? res(a.port) : rej(new Error('no port'))));
    });
  });
}

async function gauge(port: number, name: string): Promise<number | undefined> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

async function until(what: string, cond: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`flow-bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** What one measured stream saw. */
interface Measure {
  received: number;
  lost: number;
  seconds: number;
  rate: number;
  latenciesMs: Float64Array;
  /** CPU time of the serving processes per event handled, in microseconds (steadier than wall time on a shared machine). */
  cpuUsPerFlow?: number;
  /** The same for the fake agent and for this measuring client (where the rest of the machine goes). */
  agentCpuUsPerFlow?: number;
  clientCpuUsPerFlow?: number;
}

/** CPU time (user + system) a process used so far, in ms (Linux /proc, clock ticks of 10 ms). */
function cpuMs(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

/** Measures `run`, adding the CPU the `pids` used per event they handled (`events`: what the agents sent, delivered or lost). */
async function withCpu(pids: (number | undefined)[], events: number, run: () => Promise<Measure>, agentPid?: number): Promise<Measure> {
  const before = pids.map(cpuMs);
  const agentBefore = cpuMs(agentPid);
  const clientBefore = process.cpuUsage();
  const m = await run();
  const used = pids.map(cpuMs).reduce((sum, after, i) => sum + after - before[i]!, 0);
  const client = process.cpuUsage(clientBefore);
  const per = (ms: number): number => (events > 0 ? (ms * 1000) / events : NaN);
  return {
    ...m,
    cpuUsPerFlow: per(used),
    agentCpuUsPerFlow: agentPid === undefined ? undefined : per(cpuMs(agentPid) - agentBefore),
    clientCpuUsPerFlow: per((client.user + client.system) / 1000),
  };
}

/** Reads flows from `stream` until `expected` flows (or lost events) arrived or `idleMs` passes without any. */
function consume(stream: ClientReadableStream<observer.GetFlowsResponse>, expected: number, withLatency: boolean, idleMs = 3000): Promise<Measure> {
  return new Promise((res) => {
    const arrivals = new Float64Array(expected);
    const latencies = new Float64Array(expected);
    let received = 0;
    let lost = 0;
    let last = Date.now();
    let n = 0;
    const timer = setInterval(() => {
      if (Date.now() - last > idleMs) done();
    }, 100);
    const done = (): void => {
      clearInterval(timer);
      stream.removeAllListeners('data');
      const lo = Math.floor(received * 0.01);
      const hi = Math.max(lo + 1, Math.ceil(received * 0.99) - 1);
      const seconds = received > 1 ? (arrivals[hi]! - arrivals[lo]!) / 1e9 : 0;
      res({
        received, lost, seconds,
        rate: seconds > 0 ? (hi - lo) / seconds : 0,
        latenciesMs: withLatency ? latencies.slice(0, received).sort() : new Float64Array(),
      });
    };
    stream.on('data', (r: observer.GetFlowsResponse) => {
      if (r.lostEvents) lost += Number(r.lostEvents.numEventsLost);
      if (!r.flow) return;
      if (received < expected) {
        const t = nowNs();
        arrivals[received] = Number(t - wallOffset);
        if (withLatency && r.time) latencies[received] = Number(t - (r.time.seconds * 1_000_000_000n + BigInt(r.time.nanos))) / 1e6;
        received++;
      }
      if ((++n & 63) === 0) last = Date.now();
      if (received + lost >= expected) done();
    });
  });
}

const pct = (sorted: Float64Array, p: number): number => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!);

/** One scenario's result row. */
interface Row {
  name: string;
  full: Measure;
  paced?: Measure;
  /** Flows the scenario should deliver (default: --flows, rounded down to whole per-agent shares). */
  expected?: number;
}

/** Rejects when `child` exits (a process that should stay up). */
function exitOf(child: ChildProcess, what: string): Promise<never> {
  return new Promise((_, reject) => child.once('exit', (code) => reject(new Error(`flow-bench: ${what} exited with ${code}`))));
}

async function runBaseline(dir: string, flows: number): Promise<Row> {
  const address = `unix://${join(dir, 'baseline.sock')}`;
  const proc = new Proc([BASELINE_MAIN, '--listen', address]);
  try {
    await Promise.race([proc.next('ready'), exitOf(proc.child, 'the baseline server')]);
    const client = new observer.ObserverClient(address, credentials.createInsecure());
    const warm = client.getFlows(observer.GetFlowsRequest.fromPartial({ number: BigInt(Math.min(20_000, flows)) }));
    await consume(warm, Math.min(20_000, flows), false);
    const full = await withCpu([proc.child.pid], flows, () => consume(client.getFlows(observer.GetFlowsRequest.fromPartial({ number: BigInt(flows) })), flows, false));
    client.close();
    return { name: 'baseline: grpc-js, pre-encoded', full };
  } finally {
    proc.stop();
  }
}

/** Starts `count` hubble-servers, each with its own fake agent socket, and waits for their subscriptions. */
async function startServers(parent: string, count: number, bufferCapacity: number): Promise<{ agent: Proc; servers: ChildProcess[]; sockets: string[]; metricsPorts: number[] }> {
  const dir = mkdtempSync(join(parent, 'servers-'));
  const agentSockets = Array.from({ length: count }, (_, i) => join(dir, `agent-${i}.sock`));
  const agent = new Proc([AGENT_MAIN, ...agentSockets.flatMap((s) => ['--socket', s])]);
  await Promise.race([agent.next('ready'), exitOf(agent.child, 'the fake agent')]);
  const sockets: string[] = [];
  const metricsPorts: number[] = [];
  const servers: ChildProcess[] = [];
  for (let i = 0; i < count; i++) {
    const port = await freePort();
    const socket = `unix://${join(dir, `hubble-${i}.sock`)}`;
    const profile = process.env.FLOW_BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.FLOW_BENCH_PROFILE_DIR}`] : [];
    servers.push(spawnNode([...profile, SERVER_MAIN, '--agent-socket', `unix://${agentSockets[i]}`, '--listen-address', socket,
      '--node-name', `node-${i + 1}`, '--buffer-capacity', String(bufferCapacity), '--metrics-port', String(port), '--metrics', '', '--log-level', 'error'], 'quiet'));
    sockets.push(socket);
    metricsPorts.push(port);
  }
  await until('hubble-servers subscribed to their agents', async () => {
    const line = await agent.command('subscribers', 'subscribers ');
    return line.slice('subscribers '.length).split(',').every((n) => n === '1');
  });
  return { agent, servers, sockets, metricsPorts };
}

async function measurePipeline(
  name: string, address: string, agent: Proc, metricsPorts: number[], perAgent: number, total: number, pacedRate: number, pids: (number | undefined)[],
): Promise<Row> {
  const client = new observer.ObserverClient(address, credentials.createInsecure());
  await new Promise<void>((res, rej) => client.waitForReady(Date.now() + 30_000, (err) => (err ? rej(err) : res())));
  const follow = async (): Promise<ClientReadableStream<observer.GetFlowsResponse>> => {
    const s = client.getFlows(observer.GetFlowsRequest.fromPartial({ follow: true }));
    s.on('error', () => undefined);
    let seen: (number | undefined)[] = [];
    await until('one follow reader at every server', async () => {
      seen = await Promise.all(metricsPorts.map((p) => gauge(p, 'hubble_server_ring_followers')));
      return seen.every((n) => n === 1);
    }).catch((err: Error) => {
      throw new Error(`${err.message} (ring followers per server: ${JSON.stringify(seen)})`);
    });
    return s;
  };
  try {
    const warmN = Math.min(20_000, Math.floor(total / 5));
    let s = await follow();
    let m = consume(s, warmN - (warmN % metricsPorts.length), false);
    await agent.command(`blast ${Math.floor(warmN / metricsPorts.length)}`, 'blasted ');
    await m;
    s.cancel();
    s = await follow();
    const stream = s;
    const full = await withCpu(pids, perAgent * metricsPorts.length, async () => {
      const measured = consume(stream, perAgent * metricsPorts.length, true);
      await agent.command(`blast ${perAgent}`, 'blasted ');
      return measured;
    }, agent.child.pid);
    s.cancel();
    const pacedTotal = Math.max(metricsPorts.length, Math.floor(pacedRate * 2));
    const pacedPerAgent = Math.floor(pacedTotal / metricsPorts.length);
    s = await follow();
    m = consume(s, pacedPerAgent * metricsPorts.length, true);
    await agent.command(`rate ${Math.floor(pacedRate / metricsPorts.length)} ${pacedPerAgent}`, 'rated ');
    const paced = await m;
    s.cancel();
    return { name, full, paced };
  } finally {
    client.close();
  }
}

async function runServer(dir: string, flows: number, pacedRate: number, bufferCapacity: number): Promise<Row[]> {
  const { agent, servers, sockets, metricsPorts } = await startServers(dir, 1, bufferCapacity);
  try {
    const pids = servers.map((c) => c.pid);
    const live = await measurePipeline('hubble-server: agent -> server -> client', sockets[0]!, agent, metricsPorts, flows, flows, pacedRate, pids);
    // Egress alone: the whole ring read back without follow while nothing arrives.
    const client = new observer.ObserverClient(sockets[0]!, credentials.createInsecure());
    const n = Math.min(bufferCapacity, flows);
    const full = await withCpu(pids, n, () => consume(client.getFlows(observer.GetFlowsRequest.fromPartial({ number: BigInt(n) })), n, false));
    client.close();
    return [live, { name: 'hubble-server: replay of the buffer (no ingest)', full, expected: n }];
  } finally {
    agent.stop();
    await stopAll(servers);
  }
}

/** SIGTERM (so CPU profiles get written), SIGKILL after 5 s. */
async function stopAll(children: ChildProcess[]): Promise<void> {
  await Promise.all(children.map((c) => new Promise<void>((res) => {
    if (c.exitCode !== null || c.signalCode !== null) return res();
    const t = setTimeout(() => c.kill('SIGKILL'), 5000);
    c.once('exit', () => {
      clearTimeout(t);
      res();
    });
    c.kill('SIGTERM');
  })));
}

async function runRelay(dir: string, flows: number, pacedRate: number, relayMain: string, bufferCapacity: number): Promise<Row> {
  const { agent, servers, sockets, metricsPorts } = await startServers(dir, 3, bufferCapacity);
  const relayAddress = `unix://${join(dir, 'relay.sock')}`;
  const profile = process.env.FLOW_BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.FLOW_BENCH_PROFILE_DIR}`] : [];
  const relay = spawnNode([...profile, relayMain, '--listen-address', relayAddress, '--log-level', 'error',
    '--static-peers', sockets.map((s, i) => `node-${i + 1}=${s}`).join(',')], 'quiet');
  try {
    const perAgent = Math.floor(flows / 3);
    return await measurePipeline('hubble-relay: 3 agents -> 3 servers -> relay -> client', relayAddress, agent, metricsPorts, perAgent, flows, pacedRate,
      [relay.pid, ...servers.map((c) => c.pid)]);
  } finally {
    await stopAll([relay]);
    agent.stop();
    await stopAll(servers);
  }
}

function printTable(rows: Row[], options: Options): void {
  const baseRow = rows.find((r) => r.name.startsWith('baseline'));
  const f = (n: number | undefined, d = 0) => (n !== undefined && Number.isFinite(n) ? n.toFixed(d) : 'n/a');
  const ratio = (v: number | undefined, b: number | undefined) => (v !== undefined && b ? f(v / b, 2) : 'n/a');
  const header = ['scenario', 'flows', 'flows/s', 'x base', 'CPU us/event', 'x base CPU', 'p50 ms', 'p99 ms', 'lost',
    `paced ${options.pacedRate}/s p50 ms`, 'p99 ms', 'lost'];
  const lines = rows.map((r) => {
    const expected = r.expected ?? (r.name.startsWith('hubble-relay') ? 3 * Math.floor(options.flows / 3) : options.flows);
    const missing = (m: Measure, want: number) => String(m.lost + Math.max(0, want - m.received - m.lost));
    const pacedWant = r.name.startsWith('hubble-relay') ? 3 * Math.floor(Math.floor(options.pacedRate * 2) / 3) : Math.floor(options.pacedRate * 2);
    return [
      r.name, String(r.full.received), f(r.full.rate), ratio(r.full.rate, baseRow?.full.rate),
      f(r.full.cpuUsPerFlow, 1), ratio(baseRow?.full.cpuUsPerFlow, r.full.cpuUsPerFlow),
      f(pct(r.full.latenciesMs, 0.5), 1), f(pct(r.full.latenciesMs, 0.99), 1), missing(r.full, expected),
      r.paced ? f(pct(r.paced.latenciesMs, 0.5), 1) : 'n/a', r.paced ? f(pct(r.paced.latenciesMs, 0.99), 1) : 'n/a',
      r.paced ? missing(r.paced, pacedWant) : 'n/a',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(fmt(header));
  for (const l of lines) console.log(fmt(l));
  const others = rows.filter((r) => r.full.clientCpuUsPerFlow !== undefined)
    .map((r) => `  ${r.name}: client ${f(r.full.clientCpuUsPerFlow, 1)}${r.full.agentCpuUsPerFlow !== undefined ? `, fake agent ${f(r.full.agentCpuUsPerFlow, 1)}` : ''}`);
  console.log(['', 'CPU us/event of the other processes of each run (full load):', ...others].join('\n'));
  console.log([
    '',
    `${options.flows} flows per scenario, every component its own process, on ${process.platform}/${process.arch} (${cpus().length} CPUs, load ${loadavg()[0]!.toFixed(1)}), node ${process.version}.`,
    'flows/s: arrivals between the 1st and 99th percentile over that time; x base: ratio to the baseline (grpc-js streaming pre-encoded responses).',
    'CPU us/event: CPU of the serving processes (server; relay + 3 servers; baseline server) per event the agents sent (delivered or lost); x base CPU = baseline CPU / this.',
    'p50/p99: agent event stamp to arrival at the client under full load, and at the paced rate. lost: reported lost events plus flows that never arrived.',
    'Targets: 100,000 flows/s through a server and through the relay, >= 0.5 x baseline, p99 < 100 ms, no lost events.',
  ].join('\n'));
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'cts-flow-bench-'));
  const rows: Row[] = [];
  try {
    for (const s of options.scenarios) {
      if (s === 'baseline') rows.push(await runBaseline(dir, options.flows));
      else if (s === 'server') rows.push(...(await runServer(dir, options.flows, options.pacedRate, options.bufferCapacity)));
      else if (s === 'relay') rows.push(await runRelay(dir, options.flows, options.pacedRate, options.relayMain!, options.bufferCapacity));
      else throw new Error(`flow-bench: unknown scenario "${s}"; use baseline, server, relay`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  printTable(rows, options);
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
