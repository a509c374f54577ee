// Benchmark: computeEndpointPolicy on a cluster-sized repository and identity set.
// Run with `npm run bench` (after `npm run build`); prints one JSON line per case.
import { computeEndpointPolicy } from './endpoint-policy.js';
import { StaticIdentityLookup } from './identity.js';
import { parsePolicyDocument } from './document.js';
import { Repository } from './repository.js';

function setup(namespaces: number, appsPerNs: number): { repo: Repository; ids: StaticIdentityLookup; ep: string[] } {
  const docs: unknown[] = [];
  const ids = new StaticIdentityLookup();
  let id = 256;
  for (let n = 0; n < namespaces; n++) {
    for (let a = 0; a < appsPerNs; a++) {
      ids.set(id++, [`k8s:app=app${a}`, `k8s:io.kubernetes.pod.namespace=ns${n}`, `k8s:tier=t${a % 3}`]);
      docs.push({
        apiVersion: 'cilium.io/v2',
        kind: 'CiliumNetworkPolicy',
        metadata: { name: `app${a}`, namespace: `ns${n}` },
        spec: {
          endpointSelector: { matchLabels: { app: `app${a}` } },
          ingress: [
            { fromEndpoints: [{ matchLabels: { app: `app${(a + 1) % appsPerNs}` } }], toPorts: [{ ports: [{ port: '8080', protocol: 'TCP' }] }] },
            { fromEndpoints: [{ matchExpressions: [{ key: 'tier', operator: 'In', values: ['t0', 't1'] }] }] },
          ],
          egress: [{ toEntities: ['world'], toPorts: [{ ports: [{ port: '443' }] }] }],
        },
      });
    }
  }
  const repo = new Repository();
  repo.add(parsePolicyDocument(JSON.stringify(docs), 'bench'));
  return { repo, ids, ep: ['k8s:app=app0', 'k8s:io.kubernetes.pod.namespace=ns0', 'k8s:tier=t0'] };
}

for (const [ns, apps] of [
  [10, 10],
  [20, 50],
] as const) {
  const { repo, ids, ep } = setup(ns, apps);
  const iterations = 20;
  computeEndpointPolicy(repo, ep, ids);
  const t0 = process.hrtime.bigint();
  let entries = 0;
  for (let i = 0; i < iterations; i++) entries = computeEndpointPolicy(repo, ep, ids).entries.length;
  const ms = Number(process.hrtime.bigint() - t0) / 1e6 / iterations;
  console.log(JSON.stringify({ bench: 'computeEndpointPolicy', rules: repo.size, identities: ns * apps + 10, entries, msPerCall: Number(ms.toFixed(2)) }));
}
