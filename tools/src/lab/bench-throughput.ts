// Cross-node TCP throughput of the lab bench, per routing mode, as a ratio to the same
// path without our programs: pair A (pod on n1 -> pod on n2) keeps its endpoint programs,
// pair B on the same nodes has them detached and is wired the way the kernel alone would
// carry it (native: the agents' routes; tunnel: a VXLAN device of its own with routes to
// the two pods), and iperf3 runs alternate A, B for a few rounds.
import { runChecked, run } from './exec.js';
import type { LabLayout } from './layout.js';
import { inNetns } from './netns.js';
import type { PodRecord } from './state-file.js';

/** Throughput of one routing mode: median Gbit/s with and without the programs. */
export interface ThroughputRow {
  mode: 'native' | 'tunnel';
  withProgramsGbps: number;
  withoutProgramsGbps: number;
  ratio: number;
  rounds: number;
  /** What carried pair B. */
  baseline: string;
}

/** The kernel-only path of each mode, as printed. */
export const baselineOf: Record<ThroughputRow['mode'], string> = {
  native: 'the same routes, endpoint programs detached',
  tunnel: 'kernel VXLAN (own device, UDP 8473), endpoint programs detached',
};

/** Name, VNI and port of the tunnel baseline's VXLAN device. */
export const baselineVxlan = { ifname: 'ctsbench0', vni: 4242, port: 8473 } as const;

/** MAC of node i's baseline VXLAN device; the other node holds it as a permanent neighbour (no ARP through the tunnel). */
export function baselineVxlanMac(node: number): string {
  return `02:00:00:00:42:${node.toString(16).padStart(2, '0')}`;
}

/** The median of some values (the lower middle one for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.ceil(s.length / 2) - 1]!;
}

/** The host-side interface of a pod's address in its node namespace (from the /32 route). */
async function hostIfname(nodeNs: string, podIp: string): Promise<string> {
  const out = await runChecked(['ip', '-n', nodeNs, '-j', 'route', 'show', `${podIp}/32`]);
  const dev = (JSON.parse(out) as Array<{ dev?: string }>)[0]?.dev;
  if (!dev) throw new Error(`no route to ${podIp} in ${nodeNs}`);
  return dev;
}

/** Removes the endpoint programs from the host veths of pods; fails if any program is left. */
export async function detachPrograms(layout: LabLayout, pods: readonly PodRecord[]): Promise<void> {
  for (const p of pods) {
    const ns = layout.nodeNetns(p.node);
    const dev = await hostIfname(ns, p.ip!);
    await run(['tc', '-n', ns, 'qdisc', 'del', 'dev', dev, 'clsact']);
    // Programs attached through tcx links would survive that: make sure nothing is left.
    const left = JSON.parse(await runChecked(inNetns(ns, ['bpftool', '-j', 'net', 'show', 'dev', dev]))) as Array<{ tc?: Array<{ kind?: string }> }>;
    const kinds = left.flatMap((e) => e.tc ?? []).map((t) => t.kind ?? '?');
    if (kinds.length > 0) throw new Error(`cannot detach the endpoint programs of ${dev} in ${ns} for the baseline (still attached: ${kinds.join(', ')})`);
  }
}

/**
 * Tunnel baseline: in each pod's node a point-to-point VXLAN device to the other node
 * (no program on it), a /32 route to the other pod through it and that pod's neighbour
 * entry (the other device's MAC), so pair B crosses the same fabric with the same
 * encapsulation, done by the kernel.
 */
export async function wireKernelVxlan(layout: LabLayout, pair: readonly [PodRecord, PodRecord]): Promise<void> {
  const v = baselineVxlan;
  for (const [local, remote] of [[pair[0], pair[1]], [pair[1], pair[0]]] as const) {
    const ns = layout.nodeNetns(local.node);
    await runChecked(['ip', '-n', ns, 'link', 'add', v.ifname, 'type', 'vxlan', 'id', String(v.vni), 'local', layout.nodeIp(local.node),
      'remote', layout.nodeIp(remote.node), 'dstport', String(v.port), 'dev', 'node0']);
    await runChecked(['ip', '-n', ns, 'link', 'set', v.ifname, 'address', baselineVxlanMac(local.node), 'up']);
    await runChecked(['ip', '-n', ns, 'route', 'replace', `${remote.ip}/32`, 'dev', v.ifname]);
    await runChecked(['ip', '-n', ns, 'neigh', 'replace', remote.ip!, 'lladdr', baselineVxlanMac(remote.node), 'dev', v.ifname, 'nud', 'permanent']);
  }
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
 * Measures one mode: detaches pair B's programs (and, in tunnel mode, wires the kernel
 * VXLAN baseline), then alternates A and B for `rounds` 2-second runs.
 */
export async function benchThroughput(
  layout: LabLayout,
  mode: ThroughputRow['mode'],
  a: readonly [PodRecord, PodRecord],
  b: readonly [PodRecord, PodRecord],
  rounds: number,
): Promise<ThroughputRow> {
  await detachPrograms(layout, b);
  if (mode === 'tunnel') await wireKernelVxlan(layout, b);
  const withP: number[] = [];
  const without: number[] = [];
  for (let k = 0; k < rounds; k++) {
    withP.push(await iperf(a[0], a[1], 2));
    without.push(await iperf(b[0], b[1], 2));
  }
  const w = median(withP);
  const wo = median(without);
  return { mode, withProgramsGbps: w, withoutProgramsGbps: wo, ratio: wo > 0 ? w / wo : 0, rounds, baseline: baselineOf[mode] };
}
