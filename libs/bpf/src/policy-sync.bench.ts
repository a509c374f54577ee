// Benchmark (BENCH_KINDS=policy-sync): one new identity reaching 100 endpoints whose policy
// maps hold 10,000 entries each, timed from PolicyEngine.setIdentity until every map is
// updated, for
//   full  the agent's old path: every endpoint's full entry list (handle.policy()) into
//         Datapath.updatePolicy, which reads the whole kernel map back to diff it;
//   diff  the one-way path: each handle's PolicyDiff into Datapath.applyPolicyDiff, which
//         writes exactly the keys it changes.
// Rounds alternate the two (add the identity, then delete it, each timed), and the table
// prints medians and the full / diff ratio of the same run. Env: BENCH_ROUNDS (3),
// BENCH_ENDPOINTS (100), BENCH_ENTRIES (10000).
import { PolicyEngine, type EndpointPolicyHandle, type PolicyDiff } from '@cilium-ts/policy';
import { Datapath } from './datapath.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ENDPOINTS = Number(process.env.BENCH_ENDPOINTS ?? 100);
const ENTRIES = Number(process.env.BENCH_ENTRIES ?? 10000);
const FIRST_PEER = 100000;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Runs the benchmark and prints its table. */
export async function benchPolicySync(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the policy-sync benchmark needs root (BPF maps on bpffs)');
  const pinDir = `/sys/fs/bpf/cts-bench-policy-${process.pid}`;
  Datapath.removePins(pinDir);
  const dp = await Datapath.open({ pinDir, ctGcIntervalMs: 0 });
  try {
    const engine = new PolicyEngine();
    engine.addRules([{ endpointSelector: { matchLabels: { role: 'server' } }, ingress: [{ fromEndpoints: [{ matchLabels: { role: 'client' } }], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }] }] }] } as never]);
    engine.batch(() => {
      for (let i = 0; i < ENTRIES; i++) engine.setIdentity(FIRST_PEER + i, ['k8s:role=client', `k8s:idx=${i}`]);
    });
    let mode: 'full' | 'diff' = 'full';
    const handles: Array<{ id: number; h: EndpointPolicyHandle }> = [];
    const t0 = process.hrtime.bigint();
    for (let id = 1; id <= ENDPOINTS; id++) {
      const h = engine.endpoint(['k8s:role=server', `k8s:app=ep${id}`]);
      h.onChange((d: PolicyDiff) => {
        if (mode === 'diff') dp.applyPolicyDiff(id, d);
      });
      dp.loadEndpoint({ id, identity: 5000 + id, hostIfindex: 1, ipv4: `10.250.${id >> 8}.${id & 255}`, ingressEnforced: true, egressEnforced: false }, h.policy().entries);
      handles.push({ id, h });
    }
    console.log(`setup: ${ENDPOINTS} endpoints x ${handles[0]!.h.entries().length} entries loaded in ${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(1)} s`);
    const newId = FIRST_PEER + ENTRIES;
    const change = (m: 'full' | 'diff', add: boolean): number => {
      mode = m;
      const start = process.hrtime.bigint();
      if (add) engine.setIdentity(newId, ['k8s:role=client', 'k8s:idx=new']);
      else engine.deleteIdentity(newId);
      if (m === 'full') for (const { id, h } of handles) dp.updatePolicy(id, h.policy().entries);
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      const want = ENTRIES + (add ? 1 : 0);
      for (const id of [1, ENDPOINTS]) {
        const n = dp.policyList(id).length;
        if (n !== want) throw new Error(`${m}: endpoint ${id} has ${n} map entries, want ${want}`);
      }
      return ms;
    };
    const times: Record<'full' | 'diff', number[]> = { full: [], diff: [] };
    for (let r = 0; r < ROUNDS; r++) {
      for (const m of r % 2 === 0 ? (['full', 'diff'] as const) : (['diff', 'full'] as const)) {
        times[m].push(change(m, true));
        times[m].push(change(m, false));
      }
    }
    const f = median(times.full);
    const d = median(times.diff);
    console.log('| path | ms per identity change (median) | samples |');
    console.log('|---|---|---|');
    console.log(`| full (handle.policy() + updatePolicy, reads each map) | ${f.toFixed(1)} | ${times.full.map((x) => x.toFixed(0)).join(' ')} |`);
    console.log(`| diff (PolicyDiff -> applyPolicyDiff) | ${d.toFixed(1)} | ${times.diff.map((x) => x.toFixed(0)).join(' ')} |`);
    console.log(`diff / full = ${(d / f).toFixed(4)} (${(f / d).toFixed(0)}x faster)`);
    for (const { h } of handles) h.close();
  } finally {
    dp.close();
    Datapath.removePins(pinDir);
  }
}
