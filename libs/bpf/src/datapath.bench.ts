// Benchmark: pod-to-pod TCP throughput (iperf3, one stream) and request/response rate
// (bench/tcp-rr.c, 1-byte ping-pong) through a node namespace, for
//   baseline  no program, no rules;
//   datapath  our tc programs on both pods' host veths, pod b's ingress enforced with N
//             policy entries of which two allow pod a on the test ports;
//   iptables  the same policy as N rules in the node namespace's FORWARD path (a chain
//             for traffic to pod b: N-2 non-matching rules, the two allows, then DROP).
// BENCH_KINDS=tunnel (alone or with the others) runs tunnel.bench.ts first; BENCH_KINDS=policy-sync runs policy-sync.bench.ts; BENCH_KINDS=lb runs lb.bench.ts (services: socket LB vs kube-proxy's iptables vs direct). N = 10, 1,000, 10,000. Every measurement of a configuration is paired with a baseline
// measurement taken just before it (BENCH_PAIRS pairs per configuration and round), and
// rounds interleave all configurations; each figure is the ratio to its paired baseline,
// summarised by the median (the machine is shared and noisy). Client
// and server run on one CPU (BENCH_CPU, default 0): across CPUs a 1-byte ping-pong mostly
// measures wake-up latency of a loaded machine, not the packet path. Run as root: `npm run bench` (after `npm run build`).
// Never touches the machine's own namespace: iptables runs with `ip netns exec <node>`.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Datapath, type EndpointDatapathSpec } from './datapath.js';
import type { PolicyEntry } from './map-codecs.js';
import { buildPacket, TcpFlags } from './testing/packet-builder.js';
import { PodLab, sh } from './testing/pod-lab.js';
import { linkIfindex } from './tc-attach.js';
import { benchTunnel } from './tunnel.bench.js';
import { benchPolicySync } from './policy-sync.bench.js';
import { benchLb } from './lb.bench.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const TPUT_SECONDS = Number(process.env.BENCH_TPUT_SECONDS ?? 3);
const PAIRS = Number(process.env.BENCH_PAIRS ?? 2);
const RR_SECONDS = Number(process.env.BENCH_RR_SECONDS ?? 2);
const CPU = process.env.BENCH_CPU ?? '0';
const pinned = (argv: string[]): string[] => ['taskset', '-c', CPU, ...argv];
const RULES = (process.env.BENCH_RULES ?? '10,1000,10000').split(',').map(Number);
const ALL_KINDS = (process.env.BENCH_KINDS ?? 'datapath,iptables').split(',');
/** 'tunnel' runs tunnel.bench.ts (cross-node VXLAN vs kernel VXLAN); the others are configurations here. */
const KINDS = ALL_KINDS.filter((k) => k !== 'tunnel' && k !== 'policy-sync' && k !== 'lb');
const IPERF_PORT = 5201;
const RR_PORT = 5202;
const pid = process.pid;

const lab = { node: `cts-bench-${pid}-n`, pinDir: `/sys/fs/bpf/cts-bench-${pid}` };
const pods = {
  a: { ns: `cts-bench-${pid}-a`, ip: '10.203.0.2', ip6: 'fd03::2', host: `lba${pid}`, id: 21, identity: 2001 },
  b: { ns: `cts-bench-${pid}-b`, ip: '10.203.0.3', ip6: 'fd03::3', host: `lbb${pid}`, id: 22, identity: 2002 },
};

interface Sample { tput: number; rr: number }
type Config = 'baseline' | `datapath-${number}` | `iptables-${number}`;

function tcpRrBinary(): string {
  const dir = fileURLToPath(new URL('./bench/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const bin = `${dir}tcp-rr`;
  const src = fileURLToPath(new URL('../bench/tcp-rr.c', import.meta.url));
  sh('clang', '-O2', '-Wall', '-o', bin, src);
  return bin;
}

function throughput(l: PodLab): number {
  const out = sh(...l.exec('a', pinned(['iperf3', '-c', pods.b.ip, '-p', String(IPERF_PORT), '-t', String(TPUT_SECONDS), '-J'])));
  const j = JSON.parse(out) as { end: { sum_received: { bits_per_second: number } } };
  return j.end.sum_received.bits_per_second;
}

function requestRate(l: PodLab, bin: string): number {
  return Number(sh(...l.exec('a', pinned([bin, 'client', pods.b.ip, String(RR_PORT), String(RR_SECONDS)]))).trim());
}

/** N policy entries for pod b's ingress: the two allows for pod a plus N-2 for other identities. */
function policyEntries(n: number): PolicyEntry[] {
  const out: PolicyEntry[] = [
    { direction: 'ingress', identity: pods.a.identity, protocol: 6, port: IPERF_PORT, deny: false },
    { direction: 'ingress', identity: pods.a.identity, protocol: 6, port: RR_PORT, deny: false },
  ];
  for (let i = 0; out.length < n; i++) out.push({ direction: 'ingress', identity: 100000 + i, protocol: 6, port: 1000 + (i % 50000), deny: false });
  return out;
}

/** iptables-restore input: chain CTS-B for traffic to pod b with the same N rules. */
function iptablesRules(n: number): string {
  const lines = ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':CTS-B - [0:0]', `-A FORWARD -o ${pods.b.host} -j CTS-B`];
  for (let i = 0; i < n - 2; i++) {
    lines.push(`-A CTS-B -s 10.${100 + ((i >> 16) & 0x3f)}.${(i >> 8) & 0xff}.${i & 0xff}/32 -p tcp -m tcp --dport ${1000 + (i % 50000)} -j ACCEPT`);
  }
  for (const port of [IPERF_PORT, RR_PORT]) lines.push(`-A CTS-B -s ${pods.a.ip}/32 -p tcp -m tcp --dport ${port} -j ACCEPT`);
  lines.push('-A CTS-B -j DROP', 'COMMIT', '');
  return lines.join('\n');
}

/** Replaces the node namespace's filter table (iptables-restore flushes what it replaces). */
function iptablesRestore(rules: string): void {
  const file = `/tmp/cts-bench-${pid}.rules`;
  writeFileSync(file, rules);
  sh('ip', 'netns', 'exec', lab.node, 'iptables-restore', file);
}

const iptablesApply = (n: number): void => iptablesRestore(iptablesRules(n));
const iptablesFlush = (): void => iptablesRestore('*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n');

function run(argv: string[], stdio: 'ignore' | Array<'ignore' | 'pipe' | 'inherit'>): ChildProcess {
  return spawn(argv[0], argv.slice(1), { stdio });
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the benchmark needs root (network namespaces, BPF, iptables)');
  if (ALL_KINDS.includes('tunnel')) await benchTunnel();
  if (ALL_KINDS.includes('policy-sync')) await benchPolicySync();
  if (ALL_KINDS.includes('lb')) await benchLb();
  if (KINDS.length === 0) return;
  const bin = tcpRrBinary();
  const podLab = PodLab.create(lab.node, { v4: '10.203.0.1', v6: 'fd03::1' }, pods);
  const servers: ChildProcess[] = [];
  let dp: Datapath | undefined;
  const specs: EndpointDatapathSpec[] = [];
  try {
    servers.push(run(podLab.exec('b', pinned(['iperf3', '-s', '-p', String(IPERF_PORT)])), 'ignore'));
    const rr = run(podLab.exec('b', pinned([bin, 'server', String(RR_PORT)])), ['ignore', 'pipe', 'inherit']);
    servers.push(rr);
    await new Promise<void>((resolve) => rr.stdout!.once('data', () => resolve()));
    await new Promise((r) => setTimeout(r, 300));

    Datapath.removePins(lab.pinDir);
    dp = await Datapath.open({ pinDir: lab.pinDir, ctGcIntervalMs: 0 });
    for (const [k, p] of Object.entries(pods)) {
      dp.ipcacheUpsert(`${p.ip}/32`, p.identity);
      specs.push({
        id: p.id, identity: p.identity, hostIfname: p.host, hostIfindex: await linkIfindex({ ifname: p.host, netns: podLab.nodeNetns }),
        ipv4: p.ip, netns: podLab.nodeNetns, ingressEnforced: k === 'b', egressEnforced: false,
      });
    }
    const configs: Config[] = [];
    for (const n of RULES) for (const k of KINDS) configs.push(`${k}-${n}` as Config);
    const results = new Map<Config, Array<{ sample: Sample; baseline: Sample }>>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of configs) for (let pair = 0; pair < PAIRS; pair++) {
        const baseline = { tput: throughput(podLab), rr: requestRate(podLab, bin) };
        const [kind, nText] = c.split('-');
        const n = Number(nText);
        if (kind === 'datapath') {
          await dp.attachEndpoint(specs[0], []);
          await dp.attachEndpoint(specs[1], policyEntries(n));
        } else {
          iptablesApply(n);
        }
        try {
          const sample = { tput: throughput(podLab), rr: requestRate(podLab, bin) };
          results.set(c, [...(results.get(c) ?? []), { sample, baseline }]);
          process.stderr.write(`round ${round + 1} ${c}: ${fmt(sample)} (paired baseline ${fmt(baseline)})\n`);
        } finally {
          if (kind === 'datapath') for (const s of specs) await dp.detachEndpoint(s);
          else iptablesFlush();
        }
      }
    }
    printTable(configs, results);
    printProgramCost(dp);
  } finally {
    for (const s of servers) s.kill('SIGKILL');
    if (dp) {
      for (const s of specs) await dp.detachEndpoint(s).catch(() => undefined);
      dp.close();
    }
    Datapath.removePins(lab.pinDir);
    podLab.destroy();
    spawnSync('rm', ['-f', `/tmp/cts-bench-${pid}.rules`]);
  }
}

/**
 * The programs' own cost per packet, without the noise of a shared machine: mean run
 * time of BPF_PROG_TEST_RUN (200,000 repeats) for an established forward packet at the
 * enforcing endpoint and for a reply, at each rule count; and for local delivery, an
 * established packet through the sender's from-container and the destination's
 * to-container-local (tail call), both sides' work in one run.
 */
function printProgramCost(dp: Datapath): void {
  const ep = 99;
  const sender = 98;
  const a = pods.a;
  const b = pods.b;
  const rows: string[] = [];
  for (const n of RULES) {
    dp.loadEndpoint({ id: ep, identity: b.identity, hostIfindex: 1, ipv4: b.ip, ingressEnforced: true, egressEnforced: true }, policyEntries(n));
    dp.ctFlush();
    const fwd = { src: a.ip, dst: b.ip, protocol: 'tcp', sport: 40000, dport: IPERF_PORT } as const;
    dp.testRun(ep, 'to-container', buildPacket(fwd));
    const est = dp.testRun(ep, 'to-container', buildPacket({ ...fwd, tcpFlags: TcpFlags.ack }), { repeat: 200000 }).durationNs;
    const reply = dp.testRun(ep, 'from-container', buildPacket({ src: b.ip, dst: a.ip, protocol: 'tcp', sport: IPERF_PORT, dport: 40000, tcpFlags: TcpFlags.ack }), { repeat: 200000 }).durationNs;
    dp.loadEndpoint({ id: sender, identity: a.identity, hostIfindex: 2, ipv4: a.ip, ingressEnforced: false, egressEnforced: false }, []);
    dp.endpointsMapUpsert(b.ip, { endpointId: ep, ifindex: 3, identity: b.identity });
    try {
      dp.testRun(sender, 'from-container', buildPacket({ ...fwd, sport: 40001 }));
      const local = dp.testRun(sender, 'from-container', buildPacket({ ...fwd, sport: 40001, tcpFlags: TcpFlags.ack }), { repeat: 200000 }).durationNs;
      rows.push(`  ${String(n).padEnd(6)} forward (policy checked) ${est} ns, reply (CT) ${reply} ns, local delivery (both sides) ${local} ns`);
    } finally {
      dp.endpointsMapDelete(b.ip);
    }
  }
  dp.ctFlush();
  console.log(`program cost per packet (BPF_PROG_TEST_RUN, includes the test-run overhead):\n${rows.join('\n')}`);
}

const fmt = (s: Sample): string => `${(s.tput / 1e9).toFixed(2)} Gbit/s, ${s.rr.toFixed(0)} req/s`;

function median(xs: number[]): number {
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
}

function printTable(configs: Config[], results: Map<Config, Array<{ sample: Sample; baseline: Sample }>>): void {
  const rows: string[][] = [['config', 'rules', 'throughput / baseline (each pair)', 'median', 'req/s / baseline (each pair)', 'median']];
  for (const c of configs) {
    const [kind, n] = c.split('-');
    const r = results.get(c);
    if (!r) continue;
    const t = r.map((x) => x.sample.tput / x.baseline.tput);
    const q = r.map((x) => x.sample.rr / x.baseline.rr);
    rows.push([kind, n, t.map((x) => x.toFixed(3)).join(' '), median(t).toFixed(3), q.map((x) => x.toFixed(3)).join(' '), median(q).toFixed(3)]);
  }
  const all = [...results.values()].flat().map((x) => x.baseline);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  console.log(`baseline range: ${(Math.min(...all.map((b) => b.tput)) / 1e9).toFixed(2)}-${(Math.max(...all.map((b) => b.tput)) / 1e9).toFixed(2)} Gbit/s, ` +
    `${Math.min(...all.map((b) => b.rr)).toFixed(0)}-${Math.max(...all.map((b) => b.rr)).toFixed(0)} req/s (CPU ${CPU})`);
  for (const r of rows) console.log(r.map((cell, i) => cell.padEnd(widths[i])).join('  '));
  console.log(JSON.stringify({ rounds: ROUNDS, results: Object.fromEntries(results) }));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
