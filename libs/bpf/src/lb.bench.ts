// The service benchmark (issue 12): from a pod to a ClusterIP, new TCP connections per
// second (bench/tcp-rr.c crr: connect, 1 byte each way, close) and throughput (iperf3, one
// stream), with N services of 4 backends each (N = 1, 1,000, 10,000), for
//   direct    the client connects to a backend's address: no service, no LB (the baseline);
//   sock      our socket load balancer (sock.o on the client's cgroup, N services in the
//             lb4_ maps): connect() to the VIP picks a backend;
//   iptables  kube-proxy's iptables mode: the nat table kube-proxy writes for the same N
//             services (KUBE-SERVICES, KUBE-SVC-*, KUBE-SEP-* with the statistic module,
//             DNAT; testing/kube-proxy-rules.ts), loaded with iptables-restore into the
//             node namespace (never the machine's own).
// The measured service is the last of the N in KUBE-SERVICES (kube-proxy's walk is linear:
// the worst case; a random service averages half the walk) and has two ports (crr, iperf3);
// its 4 backends are 4 addresses of one backend pod. The other services' backends are
// addresses nobody answers. The node namespace has a nat table (empty outside the iptables
// samples) in every configuration, so conntrack runs in all of them, as on a node with
// iptables; kube-proxy's rules are loaded just for each iptables sample (its paired direct
// run is taken before, without them: with them, the direct connection walks KUBE-SERVICES too).
// Every measurement is paired with a direct one taken just before it (BENCH_PAIRS pairs per
// configuration and round, rounds interleave configurations); each figure is the ratio to
// its paired direct run, summarised by the median. Client and servers share one CPU
// (BENCH_CPU, default 0), as in datapath.bench.ts.
// Run as root after the build: `BENCH_KINDS=lb npx nx run bpf:bench`, or `node dist/lb.bench.js`
// (under flock /tmp/cilium-ts-kernel.lock). Env: BENCH_LB_SERVICES (1,1000,10000),
// BENCH_ROUNDS (3), BENCH_PAIRS (2), BENCH_RR_SECONDS (2), BENCH_TPUT_SECONDS (3).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Service } from '@cilium-ts/loadbalancer';
import { cgroup2Root } from './cgroup2.js';
import { Datapath } from './datapath.js';
import { SocketLb } from './sock-lb.js';
import { kubeProxyNatRules, type KubeProxyService } from './testing/kube-proxy-rules.js';
import { PodLab, sh } from './testing/pod-lab.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PAIRS = Number(process.env.BENCH_PAIRS ?? 2);
const RR_SECONDS = Number(process.env.BENCH_RR_SECONDS ?? 2);
const TPUT_SECONDS = Number(process.env.BENCH_TPUT_SECONDS ?? 3);
const CPU = process.env.BENCH_CPU ?? '0';
const COUNTS = (process.env.BENCH_LB_SERVICES ?? '1,1000,10000').split(',').map(Number);
const IPERF_PORT = 5201;
const CRR_PORT = 5202;
const CLUSTER_CIDR = '10.204.0.0/16';
const pid = process.pid;
const lab = { node: `cts-lbb-${pid}-n`, pinDir: `/sys/fs/bpf/cts-lbb-${pid}`, rules: `/tmp/cts-lbb-${pid}.rules` };
const pods = {
  a: { ns: `cts-lbb-${pid}-a`, ip: '10.204.0.2', ip6: 'fd04::2', host: `lbca${pid}` },
  b: { ns: `cts-lbb-${pid}-b`, ip: '10.204.0.3', ip6: 'fd04::3', host: `lbcb${pid}` },
};
/** The measured service's backends: addresses of pod b. */
const BACKENDS = ['10.204.1.1', '10.204.1.2', '10.204.1.3', '10.204.1.4'];

type Kind = 'sock' | 'iptables';
interface Sample { crr: number; tput: number }

const vip = (i: number): string => `10.96.${(i + 1) >> 8}.${(i + 1) & 255}`;
const otherBackend = (k: number): string => `10.205.${(k >> 8) & 255}.${k & 255}`;

/** The N service ports: N-1 others on port 80, then the measured service's two ports. */
function servicePorts(n: number): KubeProxyService[] {
  const out: KubeProxyService[] = [];
  for (let i = 0; i < n - 1; i++) {
    out.push({ namespace: 'bench', name: `svc-${i}`, portName: 'http', clusterIp: vip(i), port: 80, protocol: 'tcp',
      endpoints: [0, 1, 2, 3].map((j) => `${otherBackend(i * 4 + j)}:8080`) });
  }
  for (const [portName, port] of [['crr', CRR_PORT], ['iperf', IPERF_PORT]] as const) {
    out.push({ namespace: 'bench', name: 'measured', portName, clusterIp: vip(n - 1), port, protocol: 'tcp', endpoints: BACKENDS.map((b) => `${b}:${port}`) });
  }
  return out;
}

function toService(p: KubeProxyService, id: number): Service {
  return {
    id, type: 'ClusterIP', trafficPolicy: 'Cluster', name: p.name, namespace: p.namespace,
    frontend: { ip: p.clusterIp, port: p.port, protocol: 'TCP' },
    backends: p.endpoints.map((e) => ({ ip: e.slice(0, e.lastIndexOf(':')), port: Number(e.slice(e.lastIndexOf(':') + 1)), weight: 1, state: 'active' as const })),
  };
}

function tcpRrBinary(): string {
  const dir = fileURLToPath(new URL('./bench/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const bin = `${dir}tcp-rr`;
  sh('clang', '-O2', '-Wall', '-o', bin, fileURLToPath(new URL('../bench/tcp-rr.c', import.meta.url)));
  return bin;
}

/** argv of a client in pod a, on BENCH_CPU; inside the load-balanced cgroup when given. */
function clientArgv(argv: string[], cgroup?: string): string[] {
  const inner = ['ip', 'netns', 'exec', pods.a.ns, 'taskset', '-c', CPU, ...argv];
  return cgroup ? ['sh', '-c', `echo $$ > ${cgroup}/cgroup.procs && exec "$@"`, 'client', ...inner] : inner;
}

function measure(bin: string, target: string, cgroup?: string): Sample {
  const crr = Number(sh(...clientArgv([bin, 'crr', target, String(CRR_PORT), String(RR_SECONDS)], cgroup)).trim());
  const j = JSON.parse(sh(...clientArgv(['iperf3', '-c', target, '-p', String(IPERF_PORT), '-t', String(TPUT_SECONDS), '-J'], cgroup))) as { end: { sum_received: { bits_per_second: number } } };
  return { crr, tput: j.end.sum_received.bits_per_second };
}

function iptablesRestore(rules: string): number {
  writeFileSync(lab.rules, rules);
  const t0 = process.hrtime.bigint();
  sh('ip', 'netns', 'exec', lab.node, 'iptables-restore', lab.rules);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const EMPTY_NAT = '*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n';

function median(xs: number[]): number {
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
}

/** Runs the service benchmark and prints its table. */
export async function benchLb(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the service benchmark needs root (network namespaces, BPF, cgroups, iptables)');
  const bin = tcpRrBinary();
  const podLab = PodLab.create(lab.node, { v4: '10.204.0.1', v6: 'fd04::1' }, pods);
  const cgroup = `${cgroup2Root()}/cts-lbb-${pid}`;
  const servers: ChildProcess[] = [];
  let lb: SocketLb | undefined;
  try {
    for (const b of BACKENDS) {
      sh('ip', '-n', pods.b.ns, 'addr', 'add', `${b}/32`, 'dev', 'eth0');
      sh('ip', '-n', lab.node, 'route', 'add', `${b}/32`, 'dev', pods.b.host);
    }
    iptablesRestore(EMPTY_NAT);
    servers.push(spawn('ip', ['netns', 'exec', pods.b.ns, 'taskset', '-c', CPU, 'iperf3', '-s', '-p', String(IPERF_PORT)], { stdio: 'ignore' }));
    const rr = spawn('ip', ['netns', 'exec', pods.b.ns, 'taskset', '-c', CPU, bin, 'server', String(CRR_PORT)], { stdio: ['ignore', 'pipe', 'inherit'] });
    servers.push(rr);
    await new Promise<void>((resolve) => rr.stdout!.once('data', () => resolve()));
    await new Promise((r) => setTimeout(r, 300));
    mkdirSync(cgroup);
    Datapath.removePins(lab.pinDir);
    lb = SocketLb.open({ pinDir: lab.pinDir });
    lb.attachCgroup(cgroup);

    const configs = COUNTS.flatMap((n) => (['sock', 'iptables'] as Kind[]).map((kind) => ({ kind, n })));
    const results = new Map<string, Array<{ sample: Sample; direct: Sample }>>();
    const setup = new Map<string, number[]>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const { kind, n } of configs) {
        const key = `${kind}-${n}`;
        const ports = servicePorts(n);
        const rules = kind === 'iptables' ? kubeProxyNatRules(ports, CLUSTER_CIDR) : '';
        // The socket LB's maps stay for both runs of a pair (the direct client is outside the
        // cgroup: no hook runs); kube-proxy's rules are loaded for the sample only, as every
        // new connection of the node namespace walks KUBE-SERVICES, the direct one too.
        const apply = (): void => {
          const t0 = process.hrtime.bigint();
          if (kind === 'sock') ports.forEach((p, i) => lb!.upsertService(toService(p, i + 1)));
          else iptablesRestore(rules);
          setup.set(key, [...(setup.get(key) ?? []), Number(process.hrtime.bigint() - t0) / 1e6]);
        };
        const remove = (): void => {
          if (kind === 'sock') lb!.gc([]);
          else iptablesRestore(EMPTY_NAT);
        };
        if (kind === 'sock') apply();
        try {
          for (let pair = 0; pair < PAIRS; pair++) {
            const direct = measure(bin, BACKENDS[0]!);
            if (kind === 'iptables') apply();
            let sample: Sample;
            try {
              sample = measure(bin, vip(n - 1), kind === 'sock' ? cgroup : undefined);
            } finally {
              if (kind === 'iptables') remove();
            }
            results.set(key, [...(results.get(key) ?? []), { sample, direct }]);
            process.stderr.write(`round ${round + 1} ${key}: ${fmt(sample)} (paired direct ${fmt(direct)})\n`);
          }
        } finally {
          if (kind === 'sock') remove();
        }
      }
    }
    printTable(configs.map((c) => `${c.kind}-${c.n}`), results, setup);
  } finally {
    for (const s of servers) s.kill('SIGKILL');
    if (lb) {
      if (existsSync(cgroup)) lb.detachCgroup(cgroup);
      lb.close();
    }
    Datapath.removePins(lab.pinDir);
    podLab.destroy();
    if (existsSync(cgroup)) rmdirSync(cgroup);
    rmSync(lab.rules, { force: true });
  }
}

const fmt = (s: Sample): string => `${s.crr.toFixed(0)} conn/s, ${(s.tput / 1e9).toFixed(2)} Gbit/s`;

function printTable(keys: string[], results: Map<string, Array<{ sample: Sample; direct: Sample }>>, setup: Map<string, number[]>): void {
  const rows: string[][] = [['config', 'services', 'conn/s / direct (each pair)', 'median', 'throughput / direct (each pair)', 'median', 'setup ms']];
  for (const key of keys) {
    const r = results.get(key);
    if (!r) continue;
    const [kind, n] = key.split('-');
    const c = r.map((x) => x.sample.crr / x.direct.crr);
    const t = r.map((x) => x.sample.tput / x.direct.tput);
    rows.push([kind!, n!, c.map((x) => x.toFixed(3)).join(' '), median(c).toFixed(3), t.map((x) => x.toFixed(3)).join(' '), median(t).toFixed(3), median(setup.get(key) ?? [0]).toFixed(0)]);
  }
  const all = [...results.values()].flat().map((x) => x.direct);
  console.log(`direct range: ${Math.min(...all.map((d) => d.crr)).toFixed(0)}-${Math.max(...all.map((d) => d.crr)).toFixed(0)} conn/s, ` +
    `${(Math.min(...all.map((d) => d.tput)) / 1e9).toFixed(2)}-${(Math.max(...all.map((d) => d.tput)) / 1e9).toFixed(2)} Gbit/s (CPU ${CPU})`);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(r.map((cell, i) => cell.padEnd(widths[i]!)).join('  '));
  console.log(JSON.stringify({ rounds: ROUNDS, pairs: PAIRS, results: Object.fromEntries(results) }));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  benchLb().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
