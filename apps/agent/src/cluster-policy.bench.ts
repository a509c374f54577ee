// Benchmark: cluster-wide policy propagation against a real etcd. Four agents' policy sides
// (each its own kvstore connection, repository with 200 identities, ClusterPolicy with its
// state file) in one process: time from an import on node 1 until every node enforces the
// revision (as `cilium policy wait` reports it), for 1,000 rules at once and then for a
// one-rule change with 1,000 rules in place; the baseline in the same run is a one-rule
// import into an empty cluster. Run with `node dist/cluster-policy.bench.js` (after the build).
// Target (issue 15): a one-rule change everywhere in < 500 ms.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterPolicyStore, KvStore } from '@cilium-ts/kvstore';
import { startTestEtcd } from '@cilium-ts/kvstore/testing';
import { ClusterPolicy } from './cluster-policy.js';
import { IdentityCache } from './identity-cache.js';
import { PolicyStore } from './policy-store.js';

const NODES = 4;
const RULES = 1000;
const ROUNDS = 5;

const rule = (i: number, port: number) => ({
  endpointSelector: { matchLabels: { 'k8s:app': `app${i % 100}` } },
  ingress: [{ fromEndpoints: [{ matchLabels: { 'k8s:app': `app${(i + 1) % 100}` } }], toPorts: [{ ports: [{ port: String(port), protocol: 'TCP' }] }] }],
  labels: [`k8s:io.cilium.k8s.policy.name=r${i}`],
});
const doc = (from: number, n: number, port = 80): string => JSON.stringify(Array.from({ length: n }, (_, k) => rule(from + k, port)));

const dir = mkdtempSync(join(tmpdir(), 'cts-policy-bench-'));
const etcd = await startTestEtcd('policy-bench');
const nodes: Array<{ kv: KvStore; cp: ClusterPolicy; store: PolicyStore }> = [];
try {
  for (let n = 0; n < NODES; n++) {
    const kv = await KvStore.connect({ endpoints: [etcd.endpoint], prefix: 'bench' });
    const ids = new IdentityCache();
    for (let i = 0; i < 200; i++) ids.upsert(256 + i, [`k8s:app=app${i % 100}`, `k8s:pod=p${i}`]);
    const store = new PolicyStore(ids);
    // Endpoints with live policy handles, as on a node with pods.
    for (let a = 0; a < 10; a++) store.watch([`k8s:app=app${a * 10}`], () => undefined);
    const cp = new ClusterPolicy({ policy: store, file: join(dir, `n${n}`, 'policy.json'), regenerate: async () => undefined, log: () => undefined });
    cp.follow(new ClusterPolicyStore(kv, 'bench'));
    nodes.push({ kv, cp, store });
  }
  /** ms from the import on node 1 until every node enforces its revision. */
  const everywhere = async (text: string): Promise<number> => {
    const t0 = performance.now();
    const { revision } = await nodes[0]!.cp.import(text, 'bench.json', true, false);
    await Promise.all(nodes.map((n) => n.cp.waitFor(revision, 60_000)));
    return performance.now() - t0;
  };
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

  const base: number[] = [];
  for (let r = 0; r < ROUNDS; r++) base.push(await everywhere(doc(5000 + r, 1)));
  await nodes[0]!.cp.delete([], true, false);
  const bulk = await everywhere(doc(0, RULES));
  const one: number[] = [];
  for (let r = 0; r < ROUNDS; r++) one.push(await everywhere(doc(r * 7, 1, 1000 + r)));
  const rules = nodes.map((n) => n.store.repo.size);
  process.stdout.write(
    `cluster-wide policy propagation, ${NODES} agents' policy sides on one etcd (one process, 2 cores):\n` +
      `  baseline, one rule into an empty cluster: median ${median(base).toFixed(1)} ms over ${ROUNDS}\n` +
      `  ${RULES} rules in one import, until every node enforces: ${bulk.toFixed(1)} ms\n` +
      `  one-rule change with ${RULES} rules in place: median ${median(one).toFixed(1)} ms over ${ROUNDS} (${(median(one) / median(base)).toFixed(1)}x the baseline); target < 500 ms: ${median(one) < 500 ? 'met' : 'NOT met'}\n` +
      `  rules per node afterwards: ${rules.join(', ')}\n`,
  );
} finally {
  for (const n of nodes) {
    n.cp.close();
    await n.kv.close();
  }
  await etcd.stop();
  rmSync(dir, { recursive: true, force: true });
}
