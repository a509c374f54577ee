// `lab bench`: a lab of N nodes with P extra pods per node, measured: time until every pod
// is ready (CNI ADD returns once the endpoint's policy is in the kernel), CNI ADD latency,
// identity allocations per second against the lab's etcd, memory per agent, and
// cross-node TCP throughput with the endpoint programs vs the same path without them, in
// native routing (in that lab) and in tunnel mode (in a small two-node lab of its own,
// run first).
import { readFileSync } from 'node:fs';
import { IdentityAllocator, KvStore, type KvStoreTls } from '@cilium-ts/kvstore';
import type { BenchOptions } from './args.js';
import { benchThroughput, type ThroughputRow } from './bench-throughput.js';
import { labDown } from './cmd-down.js';
import { formatTable } from './cmd-status.js';
import { labUp, podMtu } from './cmd-up.js';
import { labEtcdClientTls } from './lab-certs.js';
import { LabLayout } from './layout.js';
import { createPod } from './pods.js';
import type { PodRecord } from './state-file.js';
import { readState } from './state-file.js';

/** What a bench run measured. */
export interface BenchReport {
  nodes: number;
  podsPerNode: number;
  labUpSeconds: number;
  podsReadySeconds: number;
  cniAddMs: { p50: number; p99: number; max: number; count: number };
  identity: { nodes: number; labelSets: number; allocations: number; seconds: number; perSecond: number; distinctIds: number };
  agentRssMiB: Array<{ node: string; rssMiB: number }>;
  /** Cross-node TCP throughput per routing mode (none with a single node). */
  throughput: ThroughputRow[];
}

/** Interleaved iperf3 rounds per routing mode. */
const THROUGHPUT_ROUNDS = 3;

/** Name of the tunnel-mode lab of a bench named `name` (a valid lab name too). */
export function tunnelLabName(name: string): string {
  return `${name.slice(0, 13)}tun`;
}

/**
 * Tunnel mode: a two-node lab in tunnel mode with two pod pairs across the nodes (MTU
 * 1450, as its pods get), measured as benchThroughput does, then removed.
 */
async function benchTunnelThroughput(o: BenchOptions, log: (line: string) => void): Promise<ThroughputRow | undefined> {
  const name = tunnelLabName(o.name);
  const layout = new LabLayout(name);
  log(`tunnel mode: a two-node lab "${name}" (VXLAN) for cross-node throughput ...`);
  const up = { command: 'up', name, nodes: 2, traffic: false, policy: true, ipv6: false, routingMode: 'tunnel', underlay: 'ipv4', relayTls: false, runtime: 'process', runtimes: false } as const;
  try {
    await labUp(up, { summary: false });
    const pod = (node: number, k: number): Promise<PodRecord> => createPod(layout, node, `b${k}`, { app: `bench${k}` }, podMtu(up));
    const a = [await pod(1, 0), await pod(2, 0)] as const;
    const b = [await pod(1, 1), await pod(2, 1)] as const;
    log('  cross-node TCP throughput in tunnel mode (iperf3, with the programs vs kernel VXLAN without them) ...');
    return await benchThroughput(layout, 'tunnel', a, b, THROUGHPUT_ROUNDS);
  } catch (err) {
    log(`  tunnel-mode throughput skipped: ${(err as Error).message}`);
    return undefined;
  } finally {
    await labDown(name);
  }
}

/** Nearest-rank percentile of ascending values (p in 0..100); 0 for no values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** Runs at most `limit` jobs at a time, keeping result order. */
async function pool<T>(jobs: ReadonlyArray<() => Promise<T>>, limit: number): Promise<T[]> {
  const out = new Array<T>(jobs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const k = next++;
      out[k] = await jobs[k]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return out;
}

/** Resident memory of a process in MiB (VmRSS), or 0 when it is gone. */
export function rssMiB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : 0;
  } catch {
    return 0;
  }
}

/**
 * Identity allocation against etcd as `nodes` agents would do it: every allocator (own
 * connection, own node name) allocates the same `sets` label sets at once, under a
 * throwaway prefix that is removed afterwards.
 */
export async function benchIdentityAllocation(endpoint: string, tls: KvStoreTls | undefined, nodes: number, sets: number): Promise<BenchReport['identity']> {
  const prefix = `cilium-bench-${process.pid}`;
  const stores = await Promise.all(Array.from({ length: nodes }, () => KvStore.connect({ endpoints: [endpoint], prefix, tls })));
  const allocators = stores.map((kv, k) => new IdentityAllocator(kv, `bench-n${k + 1}`));
  try {
    await Promise.all(allocators.map((a) => a.ready()));
    const labels = Array.from({ length: sets }, (_, k) => [`k8s:app=bench-${k}`, 'k8s:io.kubernetes.pod.namespace=bench']);
    const started = process.hrtime.bigint();
    const ids = await Promise.all(allocators.map((a) => Promise.all(labels.map(async (l) => (await a.allocate(l)).id))));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    for (const other of ids.slice(1)) {
      if (other.some((id, k) => id !== ids[0]![k])) throw new Error('identity bench: two nodes got different ids for the same labels');
    }
    const allocations = nodes * sets;
    return { nodes, labelSets: sets, allocations, seconds, perSecond: allocations / seconds, distinctIds: new Set(ids[0]).size };
  } finally {
    for (const a of allocators) a.close();
    await stores[0]!.deletePrefix(`${prefix}/`).catch(() => undefined);
    await Promise.all(stores.map((s) => s.close()));
  }
}

/** Runs the benchmark; prints progress to stderr and the table (or JSON) to stdout. */
export async function labBench(o: BenchOptions): Promise<number> {
  const layout = new LabLayout(o.name);
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  // First, so that a lab kept with --keep is the main one (labs share fixed ports).
  const tunnel = o.nodes >= 2 ? await benchTunnelThroughput(o, log) : undefined;
  let t0 = Date.now();
  await labUp({ command: 'up', name: o.name, nodes: o.nodes, traffic: false, policy: true, ipv6: false, routingMode: 'native', underlay: 'ipv4', relayTls: false, runtime: 'process', runtimes: false }, { summary: false });
  const labUpSeconds = (Date.now() - t0) / 1000;
  const state = readState(layout.stateFile)!;
  const pods: PodRecord[] = [];
  try {
    log(`creating ${o.pods} pods on each of ${o.nodes} nodes (4 CNI ADDs at a time) ...`);
    const latencies: number[] = [];
    const jobs: Array<() => Promise<void>> = [];
    for (let k = 0; k < o.pods; k++) {
      for (let i = 1; i <= o.nodes; i++) {
        jobs.push(async () => {
          const started = Date.now();
          const pod = await createPod(layout, i, `b${k}`, { app: `bench${k % 10}` });
          latencies.push(Date.now() - started);
          pods.push(pod);
          if (pods.length % 20 === 0) log(`  ${pods.length}/${o.pods * o.nodes} pods ready`);
        });
      }
    }
    t0 = Date.now();
    await pool(jobs, 4);
    const podsReadySeconds = (Date.now() - t0) / 1000;
    latencies.sort((x, y) => x - y);

    log('identity allocation against etcd ...');
    const identity = await benchIdentityAllocation(layout.etcdEndpoint, labEtcdClientTls(layout), o.nodes, 200);
    const agentRssMiB = state.services.filter((s) => s.role === 'agent' && s.pid).map((s) => ({ node: `n${s.node}`, rssMiB: rssMiB(s.pid!) }));

    const throughput: ThroughputRow[] = [];
    const find = (node: number, name: string) => pods.find((p) => p.node === node && p.name === name);
    const [a0, a1, b0, b1] = [find(1, 'b0'), find(2, 'b0'), find(1, 'b1'), find(2, 'b1')];
    if (o.nodes >= 2 && a0 && a1 && b0 && b1) {
      log('cross-node TCP throughput in native routing (iperf3, with and without the endpoint programs) ...');
      const native = await benchThroughput(layout, 'native', [a0, a1], [b0, b1], THROUGHPUT_ROUNDS).catch((err: Error) => {
        log(`  native throughput skipped: ${err.message}`);
        return undefined;
      });
      if (native) throughput.push(native);
    }
    if (tunnel) throughput.push(tunnel);

    const report: BenchReport = {
      nodes: o.nodes,
      podsPerNode: o.pods,
      labUpSeconds,
      podsReadySeconds,
      cniAddMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) ?? 0, count: latencies.length },
      identity,
      agentRssMiB,
      throughput,
    };
    process.stdout.write(o.json ? JSON.stringify(report, null, 2) + '\n' : formatBenchReport(report) + '\n');
    return 0;
  } finally {
    if (!o.keep) {
      // No CNI DEL per pod: "down" removes every namespace of the lab (bench pods included),
      // the agents, their pins and etcd's data, which is all the pods' state.
      log(`removing the lab with its ${pods.length} bench pods ...`);
      await labDown(o.name);
    }
  }
}

/** The report as a two-column table, then the throughput per routing mode as a table of its own. */
export function formatBenchReport(r: BenchReport): string {
  const rows: string[][] = [
    ['nodes x pods', `${r.nodes} x ${r.podsPerNode} (plus 3 demo pods per node)`],
    ['lab up (etcd, operator, agents, hubble, relay, demo pods)', `${r.labUpSeconds.toFixed(1)} s`],
    ['time until all pods ready', `${r.podsReadySeconds.toFixed(1)} s (${r.cniAddMs.count} pods, 4 CNI ADDs at a time)`],
    ['CNI ADD latency p50 / p99 / max', `${r.cniAddMs.p50} / ${r.cniAddMs.p99} / ${r.cniAddMs.max} ms`],
    [
      'identity allocations per second (etcd)',
      `${Math.round(r.identity.perSecond)}/s (${r.identity.nodes} nodes x ${r.identity.labelSets} label sets at once in ${r.identity.seconds.toFixed(2)} s, ${r.identity.distinctIds} distinct ids)`,
    ],
    ...r.agentRssMiB.map((a) => [`agent ${a.node} memory (RSS)`, `${a.rssMiB} MiB`]),
  ];
  const main = formatTable(['METRIC', 'VALUE'], rows);
  if (r.throughput.length === 0) return main;
  const rounds = r.throughput[0]!.rounds;
  const tp = formatTable(
    ['CROSS-NODE TCP (iperf3)', 'WITH PROGRAMS', 'WITHOUT', 'RATIO', 'BASELINE (WITHOUT)'],
    r.throughput.map((t) => [
      t.mode === 'native' ? 'native routing' : 'tunnel (VXLAN)',
      `${t.withProgramsGbps.toFixed(2)} Gbit/s`,
      `${t.withoutProgramsGbps.toFixed(2)} Gbit/s`,
      t.ratio.toFixed(2),
      t.baseline,
    ]),
  );
  return `${main}\n\n${tp}\n(median of ${rounds} interleaved 2 s runs per column; ratio = with / without, measured in this run)`;
}
