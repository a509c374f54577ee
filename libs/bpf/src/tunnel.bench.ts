// Benchmark of tunnel mode: cross-node TCP throughput (iperf3, one stream) from a pod on
// node A to a pod on node B over VXLAN (TunnelLab), for
//   baseline  kernel VXLAN without programs (a point-to-point device, routes and a
//             permanent neighbour entry: the kernel encapsulates and decapsulates);
//   tunnel    our programs on both pods' host veths and from-overlay on cilium_vxlan
//             (from-container encapsulates with bpf_skb_set_tunnel_key + bpf_redirect,
//             from-overlay hands over to to-container-local + bpf_redirect_peer).
// Every tunnel measurement is paired with a baseline one taken just before it; the table
// prints each pair's ratio and the median, plus per-run signals that show where time
// goes: iperf3 retransmits, and bytes per packet on the fabric (64 KiB-ish: GSO packets
// cross whole; ~1.5 KiB: segmented before the fabric).
// Run as root after `npm run build`: `BENCH_KINDS=tunnel npm run bench` (or
// `node dist/tunnel.bench.js`), under `flock /tmp/cts-bench.lock`.
// Env: BENCH_ROUNDS (3), BENCH_PAIRS (2), BENCH_TPUT_SECONDS (3).
import { spawn, type ChildProcess } from 'node:child_process';
import { Datapath, type EndpointDatapathSpec } from './datapath.js';
import { sh } from './testing/pod-lab.js';
import { linkIfindex } from './tc-attach.js';
import { TunnelLab } from './testing/tunnel-lab.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PAIRS = Number(process.env.BENCH_PAIRS ?? 2);
const TPUT_SECONDS = Number(process.env.BENCH_TPUT_SECONDS ?? 3);
const IPERF_PORT = 5201;
const pid = process.pid;
const base = `cts-tbench-${pid}`;
const identities = { a: 2101, b: 2102 } as const;
const endpointIds = { a: 31, b: 32 } as const;

/** One iperf3 run and what the fabric carried meanwhile. */
interface Sample { gbps: number; retransmits: number; fabricBytesPerPacket: number }

function fabricTx(lab: TunnelLab): { packets: number; bytes: number } {
  const out = sh('ip', '-n', lab.nodes.a.ns, '-s', '-j', 'link', 'show', lab.nodes.a.fabric);
  const tx = (JSON.parse(out) as Array<{ stats64: { tx: { packets: number; bytes: number } } }>)[0].stats64.tx;
  return { packets: tx.packets, bytes: tx.bytes };
}

function measure(lab: TunnelLab): Sample {
  const before = fabricTx(lab);
  const out = sh(...lab.exec('a', ['iperf3', '-c', lab.nodes.b.pod.ip, '-p', String(IPERF_PORT), '-t', String(TPUT_SECONDS), '-J']));
  const after = fabricTx(lab);
  const j = JSON.parse(out) as { end: { sum_received: { bits_per_second: number }; sum_sent: { retransmits?: number } } };
  return {
    gbps: j.end.sum_received.bits_per_second / 1e9,
    retransmits: j.end.sum_sent.retransmits ?? 0,
    fabricBytesPerPacket: (after.bytes - before.bytes) / Math.max(1, after.packets - before.packets),
  };
}

const fmt = (s: Sample): string => `${s.gbps.toFixed(2)} Gbit/s, ${s.retransmits} retr, ${s.fabricBytesPerPacket.toFixed(0)} B/pkt on the fabric`;

function median(xs: number[]): number {
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
}

/** Runs the tunnel benchmark and prints its table; exported for datapath.bench.ts (BENCH_KINDS=tunnel). */
export async function benchTunnel(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the tunnel benchmark needs root (network namespaces, BPF)');
  const lab = TunnelLab.create(base, String(pid % 100000));
  const dps: Partial<Record<'a' | 'b', Datapath>> = {};
  const specs: EndpointDatapathSpec[] = [];
  let server: ChildProcess | undefined;
  try {
    server = spawn('ip', ['netns', 'exec', lab.nodes.b.pod.ns, 'iperf3', '-s', '-p', String(IPERF_PORT)], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 300));
    for (const k of ['a', 'b'] as const) {
      const n = lab.nodes[k];
      const netns = lab.netns(k);
      Datapath.removePins(`/sys/fs/bpf/${base}-${k}`);
      const dp = await Datapath.open({ pinDir: `/sys/fs/bpf/${base}-${k}`, ctGcIntervalMs: 0 });
      dps[k] = dp;
      dp.setTunnel({ ifindex: await linkIfindex({ ifname: 'cilium_vxlan', netns }), localIpv4: n.underlay });
      await dp.attachOverlay({ ifname: 'cilium_vxlan', netns });
      for (const j of ['a', 'b'] as const) dp.ipcacheUpsert(`${lab.nodes[j].pod.ip}/32`, identities[j], lab.nodes[j].underlay);
      specs.push({
        id: endpointIds[k], identity: identities[k], hostIfname: n.pod.host, hostIfindex: await linkIfindex({ ifname: n.pod.host, netns }),
        ipv4: n.pod.ip, netns, ingressEnforced: k === 'b', egressEnforced: false,
      });
    }
    const policyB = [{ direction: 'ingress', identity: identities.a, protocol: 6, port: IPERF_PORT, deny: false }] as const;
    const pairs: Array<{ sample: Sample; baseline: Sample }> = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (let pair = 0; pair < PAIRS; pair++) {
        const baseline = measure(lab);
        await dps.a!.attachEndpoint(specs[0], []);
        await dps.b!.attachEndpoint(specs[1], [...policyB]);
        try {
          const sample = measure(lab);
          pairs.push({ sample, baseline });
          process.stderr.write(`round ${round + 1}: tunnel ${fmt(sample)} | baseline ${fmt(baseline)}\n`);
        } finally {
          await dps.a!.detachEndpoint(specs[0]);
          await dps.b!.detachEndpoint(specs[1]);
        }
      }
    }
    const ratios = pairs.map((p) => p.sample.gbps / p.baseline.gbps);
    console.log(`tunnel mode vs kernel VXLAN without programs (${pairs.length} pairs, baselines ` +
      `${Math.min(...pairs.map((p) => p.baseline.gbps)).toFixed(2)}-${Math.max(...pairs.map((p) => p.baseline.gbps)).toFixed(2)} Gbit/s)`);
    console.log(`  throughput / baseline: ${ratios.map((r) => r.toFixed(3)).join(' ')}  median ${median(ratios).toFixed(3)}`);
    console.log(`  retransmits (median): tunnel ${median(pairs.map((p) => p.sample.retransmits))}, baseline ${median(pairs.map((p) => p.baseline.retransmits))}`);
    console.log(`  bytes per fabric packet (median): tunnel ${median(pairs.map((p) => p.sample.fabricBytesPerPacket)).toFixed(0)}, ` +
      `baseline ${median(pairs.map((p) => p.baseline.fabricBytesPerPacket)).toFixed(0)}`);
  } finally {
    server?.kill('SIGKILL');
    for (const k of ['a', 'b'] as const) {
      const dp = dps[k];
      if (!dp) continue;
      for (const s of specs) if (s.netns === lab.netns(k)) await dp.detachEndpoint(s).catch(() => undefined);
      await dp.detachOverlay({ ifname: 'cilium_vxlan', netns: lab.netns(k) }).catch(() => undefined);
      dp.close();
      Datapath.removePins(`/sys/fs/bpf/${base}-${k}`);
    }
    lab.destroy();
  }
}

if (process.argv[1]?.endsWith('tunnel.bench.js')) {
  benchTunnel().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
