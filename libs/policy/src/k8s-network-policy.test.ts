import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePolicyDocument } from './document.js';
import { computeEndpointPolicy } from './endpoint-policy.js';
import { StaticIdentityLookup } from './identity.js';
import { namespaceLabel } from './k8s-network-policy.js';
import { evaluateEntries } from './policy-entry.js';
import { Repository } from './repository.js';
import { PolicyValidationError } from './validation-error.js';

const pod = (ns: string, name: string): string[] => [`k8s:pod=${name}`, `k8s:io.kubernetes.pod.namespace=${ns}`, namespaceLabel('ns', ns)];

function repoOf(yaml: string): Repository {
  const repo = new Repository();
  repo.add(parsePolicyDocument(yaml, 'test'));
  return repo;
}

function errorsOf(yaml: string): string[] {
  try {
    parsePolicyDocument(yaml, 'test');
  } catch (e) {
    assert.ok(e instanceof PolicyValidationError);
    return e.errors.map((x) => `${x.path}: ${x.message}`);
  }
  assert.fail('expected a validation error');
}

test('podSelector, namespaceSelector, ipBlock and ports translate into rules', () => {
  const rules = parsePolicyDocument(
    `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: x, uid: u1}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - podSelector: {matchLabels: {pod: b}}
    - namespaceSelector: {matchLabels: {ns: y}}
      podSelector: {matchExpressions: [{key: pod, operator: In, values: [c]}]}
    - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}
    ports:
    - {port: 80, endPort: 81}
    - {protocol: UDP, port: serve-53}
`,
    'test',
  );
  assert.equal(rules.length, 1);
  const r = rules[0]!;
  assert.deepEqual(r.endpointSelector, { matchLabels: { 'k8s:pod': 'a', 'k8s:io.kubernetes.pod.namespace': 'x' } });
  assert.equal(r.egress, undefined);
  const ports = [{ ports: [{ protocol: 'TCP', port: '80', endPort: 81 }, { protocol: 'UDP', port: 'serve-53' }] }];
  assert.deepEqual(r.ingress, [
    { fromEndpoints: [{ matchLabels: { 'k8s:pod': 'b', 'k8s:io.kubernetes.pod.namespace': 'x' } }], toPorts: ports },
    {
      fromEndpoints: [
        {
          matchLabels: { 'k8s:io.cilium.k8s.namespace.labels.ns': 'y' },
          matchExpressions: [
            { key: 'k8s:pod', operator: 'In', values: ['c'] },
            { key: 'k8s:io.kubernetes.pod.namespace', operator: 'Exists' },
          ],
        },
      ],
      toPorts: ports,
    },
    { fromCIDRSet: [{ cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] }], toPorts: ports },
  ]);
  assert.deepEqual(r.labels, [
    'k8s:io.cilium.k8s.policy.derived-from=NetworkPolicy',
    'k8s:io.cilium.k8s.policy.name=web',
    'k8s:io.cilium.k8s.policy.namespace=x',
    'k8s:io.cilium.k8s.policy.uid=u1',
  ]);
});

test('policyTypes: listed directions are enforced even without rules; others are ignored', () => {
  const ids = new StaticIdentityLookup([
    [300, pod('x', 'a')],
    [301, pod('y', 'b')],
  ]);
  const denyAll = repoOf(`{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"d","namespace":"x"},"spec":{"podSelector":{},"policyTypes":["Ingress","Egress"]}}`);
  const p = computeEndpointPolicy(denyAll, pod('x', 'a'), ids);
  assert.equal(p.ingressEnforced, true);
  assert.equal(p.egressEnforced, true);
  assert.deepEqual(p.entries, []);
  const egressOnly = repoOf(
    `{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"e","namespace":"x"},"spec":{"podSelector":{},"policyTypes":["Egress"],"ingress":[{}],"egress":[{"to":[{"namespaceSelector":{}}]}]}}`,
  );
  const q = computeEndpointPolicy(egressOnly, pod('x', 'a'), ids);
  assert.equal(q.ingressEnforced, false);
  assert.equal(q.egressEnforced, true);
  assert.equal(evaluateEntries(q.entries, { direction: 'egress', identity: 301, protocol: 6, port: 80 }, true).allowed, true);
  assert.equal(evaluateEntries(q.entries, { direction: 'egress', identity: 2, protocol: 6, port: 80 }, true).allowed, false, 'namespaceSelector {} selects pods only');
  // Default policyTypes: Ingress, plus Egress when egress rules are present.
  const allowAll = repoOf(`{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"a","namespace":"x"},"spec":{"podSelector":{},"ingress":[{}]}}`);
  const r = computeEndpointPolicy(allowAll, pod('x', 'a'), ids);
  assert.equal(r.egressEnforced, false);
  assert.equal(evaluateEntries(r.entries, { direction: 'ingress', identity: 2, protocol: 17, port: 9 }, r.ingressEnforced).allowed, true);
  // The policy applies only in its own namespace.
  assert.equal(computeEndpointPolicy(denyAll, pod('y', 'a'), ids).ingressEnforced, false);
});

test('named ports resolve from the endpoint on ingress', () => {
  const repo = repoOf(`{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"n","namespace":"x"},"spec":{"podSelector":{},"ingress":[{"ports":[{"port":"serve-81-udp","protocol":"UDP"}]}]}}`);
  const p = computeEndpointPolicy(repo, pod('x', 'a'), new StaticIdentityLookup(), { namedPorts: { 'serve-81-udp': 81 } });
  assert.deepEqual(p.entries, [{ direction: 'ingress', identity: 0, protocol: 17, port: 81, deny: false }]);
});

test('validation is path-precise and rejects unknown fields', () => {
  const errs = errorsOf(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: Bad_Name, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Ingres]
  ingress:
  - from:
    - ipBlock: {cidr: 10.0.0.1/8}
    - ipBlock: {cidr: 10.0.0.0/8}
      podSelector: {}
    - {}
    ports:
    - {port: "80", protocol: ICMP}
    - {port: 80, endPort: 70}
  egress:
  - to: [{namespaceSelector: {matchLabels: {"k8s:ns": y}}}]
    extra: 1
`);
  assert.deepEqual(errs, [
    'metadata.name: "Bad_Name" is not a valid object name (lowercase DNS subdomain)',
    'spec.policyTypes[0]: string "Ingres" is not a policy type (Ingress or Egress)',
    'spec.ingress[0].ports[0].protocol: string "ICMP" is not a protocol (TCP, UDP or SCTP)',
    'spec.ingress[0].ports[0].port: "80": a numeric port must be an integer, not a string',
    'spec.ingress[0].ports[1].endPort: 70 is lower than port 80; endPort must be >= port',
    'spec.ingress[0].from[0].ipBlock.cidr: "10.0.0.1/8" has host bits set; use the network address 10.0.0.0/8',
    'spec.ingress[0].from[1]: ipBlock cannot be combined with podSelector or namespaceSelector in one peer; write separate peers',
    'spec.ingress[0].from[2]: must set podSelector, namespaceSelector or ipBlock',
    'spec.egress[0].extra: unknown field "extra" (allowed: to, ports)',
    'spec.egress[0].to[0].namespaceSelector: key "k8s:ns": Kubernetes label keys have no label source (":" is not allowed)',
  ]);
  assert.match(errorsOf(`{"apiVersion":"v1","kind":"NetworkPolicy","metadata":{"name":"a"},"spec":{"podSelector":{}}}`)[0]!, /^apiVersion: .*networking\.k8s\.io\/v1/);
});

test('a kind: List mixes NetworkPolicy and CiliumNetworkPolicy objects', () => {
  const rules = parsePolicyDocument(
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'a', namespace: 'x' }, spec: { podSelector: {} } },
        { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'b', namespace: 'x' }, spec: { endpointSelector: {}, ingress: [{}] } },
      ],
    }),
  );
  assert.equal(rules.length, 2);
});
