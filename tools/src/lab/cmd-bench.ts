// `lab bench`: a lab of N nodes with P extra pods per node, measured: time until every pod
// is ready (CNI ADD returns once the endpoint's policy is in the kernel), CNI ADD latency,
// identity allocations per second against the lab's etcd, memory per agent, and
// cross-node TCP throughput with the endpoint programs vs the same path without them.
import { readFileSync } from 'node:fs';
import { IdentityAllocator, KvStore } from '@cilium-ts/kvstore';
import type { BenchOptions } from './args.js';
import { cniDel } from './cni.js';
import { labDown } from './cmd-down.js';
import { formatTable } from './cmd-status.js';
import { labUp } from './cmd-up.js';
import { run, runChecked } from './exec.js';
import { LabLayout } from './layout.js';
import { deleteNetns, inNetns } from './netns.js';
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
  throughput?: { withProgramsGbps: number; withoutProgramsGbps: number; ratio: number; rounds: number };
}

/** Nearest-rank percentile of ascending values (p in 0..100); 0 for no values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** The median of some values. */
function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
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
export async function benchIdentityAllocation(endpoint: string, nodes: number, sets: number): Promise<BenchReport['identity']> {
  const prefix = `cilium-bench-${process.pid}`;
  const stores = await Promise.all(Array.from({ length: nodes }, () => KvStore.connect({ endpoints: [endpoint], prefix })));
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

/** The host-side interface of a pod's address in its node namespace (from the /32 route). */
async function hostIfname(nodeNs: string, podIp: string): Promise<string> {
  const out = await runChecked(['ip', '-n', nodeNs, '-j', 'route', 'show', `${podIp}/32`]);
  const dev = (JSON.parse(out) as Array<{ dev?: string }>)[0]?.dev;
  if (!dev) throw new Error(`no route to ${podIp} in ${nodeNs}`);
  return dev;
}

/** One iperf3 run from pod `from` to pod `to` (its server started here); Gbit/s received. */
async function iperf(from: PodRecord, to: PodRecord, seconds: number): Promise<number> {
  const server = run(inNetns(to.netns, ['iperf3', '-s', '-1', '-p', '5201']), { timeoutMs: (seconds + 15) * 1000 });
  await new Promise((r) => setTimeout(r, 300));
  const r = await run(inNetns(from.netns, ['iperf3', '-c', to.ip!, '-p', '5201', '-t', String(seconds), '-J']), { timeoutMs: (seconds + 15) * 1000 });
  await server;
  if (r.code !== 0) throw new Error(`iperf3 ${from.netns} -> ${to.ip} failed: ${r.stdout.slice(-300)} ${r.stderr}`);
  const res = JSON.parse(r.stdout) as { end?: { sum_received?: { bits_per_second?: number } } };
  return (res.end?.sum_received?.bits_per_second ?? 0) / 1e9;
}

/**
 * Cross-node TCP throughput: pair A keeps its endpoint programs, pair B (same nodes) has
 * them removed from both host veths; runs alternate A, B for `rounds` rounds.
 */
async function benchThroughput(layout: LabLayout, a: [PodRecord, PodRecord], b: [PodRecord, PodRecord], rounds: number): Promise<BenchReport['throughput']> {
  for (const p of b) {
    const ns = layout.nodeNetns(p.node);
    const dev = await hostIfname(ns, p.ip!);
    await run(['tc', '-n', ns, 'qdisc', 'del', 'dev', dev, 'clsact']);
    // Programs attached through tcx links would survive that: make sure nothing is left.
    const left = JSON.parse(await runChecked(inNetns(ns, ['bpftool', '-j', 'net', 'show', 'dev', dev]))) as Array<{ tc?: Array<{ kind?: string }> }>;
    const kinds = left.flatMap((e) => e.tc ?? []).map((t) => t.kind ?? '?');
    if (kinds.length > 0) throw new Error(`cannot detach the endpoint programs of ${dev} in ${ns} for the baseline (still attached: ${kinds.join(', ')})`);
  }
  const withP: number[] = [];
  const without: number[] = [];
  for (let k = 0; k < rounds; k++) {
    withP.push(await iperf(a[0], a[1], 2));
    without.push(await iperf(b[0], b[1], 2));
  }
  const w = median(withP);
  const wo = median(without);
  return { withProgramsGbps: w, withoutProgramsGbps: wo, ratio: wo > 0 ? w / wo : 0, rounds };
}

/** Runs the benchmark; prints progress to stderr and the table (or JSON) to stdout. */
export async function labBench(o: BenchOptions): Promise<number> {
  const layout = new LabLayout(o.name);
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  let t0 = Date.now();
  await labUp({ command: 'up', name: o.name, nodes: o.nodes, traffic: false, policy: true, ipv6: false, routingMode: 'native' }, { summary: false });
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
    const identity = await benchIdentityAllocation(layout.etcdEndpoint, o.nodes, 200);
    const agentRssMiB = state.services.filter((s) => s.role === 'agent' && s.pid).map((s) => ({ node: `n${s.node}`, rssMiB: rssMiB(s.pid!) }));

    let throughput: BenchReport['throughput'];
    const find = (node: number, name: string) => pods.find((p) => p.node === node && p.name === name);
    const [a0, a1, b0, b1] = [find(1, 'b0'), find(2, 'b0'), find(1, 'b1'), find(2, 'b1')];
    if (o.nodes >= 2 && a0 && a1 && b0 && b1) {
      log('cross-node TCP throughput (iperf3, with and without the endpoint programs) ...');
      throughput = await benchThroughput(layout, [a0, a1], [b0, b1], 3).catch((err: Error) => {
        log(`  throughput skipped: ${err.message}`);
        return undefined;
      });
    }

    const report: BenchReport = {
      nodes: o.nodes,
      podsPerNode: o.pods,
      labUpSeconds,
      podsReadySeconds,
      cniAddMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) ?? 0, count: latencies.length },
      identity,
      agentRssMiB,
      ...(throughput ? { throughput } : {}),
    };
    process.stdout.write(o.json ? JSON.stringify(report, null, 2) + '\n' : formatBenchReport(report) + '\n');
    return 0;
  } finally {
    if (!o.keep) {
      log(`removing ${pods.length} bench pods and the lab ...`);
      await pool(
        pods.map((p) => async () => {
          await cniDel(layout, p.node, p.name, p.labels);
          await deleteNetns(p.netns).catch(() => undefined);
        }),
        4,
      );
      await labDown(o.name);
    }
  }
}

/** The report as a two-column table. */
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
  if (r.throughput) {
    rows.push([
      'cross-node TCP throughput',
      `${r.throughput.withProgramsGbps.toFixed(2)} Gbit/s with programs, ${r.throughput.withoutProgramsGbps.toFixed(2)} without: ratio ${r.throughput.ratio.toFixed(2)} (median of ${r.throughput.rounds} interleaved runs)`,
    ]);
  }
  return formatTable(['METRIC', 'VALUE'], rows);
}
