// The public surface other projects call (agent, cilium CLI): names and shapes from the brief.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as policy from './index.js';

test('the barrel exports the agreed API', () => {
  for (const name of [
    'ReservedIdentity', 'MinClusterIdentity', 'MinLocalIdentity', 'parseLabel', 'canonicalLabels', 'PolicyValidationError',
    'parsePolicyDocument', 'Repository', 'computeEndpointPolicy', 'tracePolicy', 'evaluateEntries', 'StaticIdentityLookup',
  ]) {
    assert.ok(name in policy, name);
  }
  assert.equal(policy.MinLocalIdentity, 1 << 24);
});

test('end to end: document -> repository -> entries -> trace', () => {
  const repo = new policy.Repository();
  const rev = repo.add(
    policy.parsePolicyDocument(
      'apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: api, namespace: shop}\nspec:\n  endpointSelector: {matchLabels: {app: api}}\n  ingress:\n  - fromEndpoints: [{matchLabels: {app: front}}]\n    toPorts: [{ports: [{port: "8080", protocol: TCP}]}]\n',
      'api.yaml',
    ),
  );
  assert.equal(rev, repo.revision);
  const ids = new policy.StaticIdentityLookup([
    [256, ['k8s:app=front', 'k8s:io.kubernetes.pod.namespace=shop']],
    [257, ['k8s:app=api', 'k8s:io.kubernetes.pod.namespace=shop']],
  ]);
  const p = policy.computeEndpointPolicy(repo, ['k8s:app=api', 'k8s:io.kubernetes.pod.namespace=shop'], ids);
  assert.deepEqual(p, {
    ingressEnforced: true,
    egressEnforced: false,
    entries: [{ direction: 'ingress', identity: 256, protocol: 6, port: 8080, deny: false }],
    revision: rev,
  });
  const t = policy.tracePolicy(repo, { srcLabels: ids.get(256)!, dstLabels: ids.get(257)!, dport: 8080, protocol: 'TCP' }, ids);
  assert.equal(t.verdict, 'ALLOWED');
  assert.deepEqual(repo.deleteByLabels(['k8s:io.cilium.k8s.policy.name=api', 'k8s:io.cilium.k8s.policy.namespace=shop']), { deleted: 1, revision: rev + 1 });
});
