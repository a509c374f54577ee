import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePolicyDocument } from './document.js';
import { PolicyValidationError } from './validation-error.js';

/** Parses and returns `path: message` of every error (fails when the document parses). */
function errorsOf(text: string): string[] {
  try {
    parsePolicyDocument(text, 'doc');
  } catch (e) {
    assert.ok(e instanceof PolicyValidationError, `expected PolicyValidationError, got ${String(e)}`);
    return e.errors.map((x) => `${x.path}: ${x.message}`);
  }
  assert.fail('document was accepted');
}

const cnp = (spec: string): string => `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: p
  namespace: prod
spec:
${spec.replace(/^/gm, '  ')}`;

test('accepts a single rule, a list, JSON and YAML', () => {
  const one = parsePolicyDocument('{"endpointSelector": {"matchLabels": {"app": "a"}}, "ingress": [{}]}');
  assert.deepEqual(one, [{ endpointSelector: { matchLabels: { app: 'a' } }, ingress: [{}] }]);
  const list = parsePolicyDocument('- endpointSelector: {}\n  egress: [{toEntities: [world]}]\n- endpointSelector: {}\n  labels: ["k8s:x=y", {key: k, value: v}]\n');
  assert.equal(list.length, 2);
  assert.deepEqual(list[1]!.labels, ['k8s:x=y', 'unspec:k=v']);
  assert.deepEqual(list[0]!.egress, [{ toEntities: ['world'] }]);
});

test('a CiliumNetworkPolicy is scoped to its namespace and labelled', () => {
  const [r] = parsePolicyDocument(cnp('endpointSelector: {matchLabels: {app: web}}\ningress:\n- fromEndpoints: [{matchLabels: {app: client}}]\n'));
  assert.deepEqual(r!.endpointSelector, { matchLabels: { app: 'web', 'k8s:io.kubernetes.pod.namespace': 'prod' } });
  assert.deepEqual(r!.ingress![0]!.fromEndpoints, [{ matchLabels: { app: 'client', 'k8s:io.kubernetes.pod.namespace': 'prod' } }]);
  assert.deepEqual(r!.labels, [
    'k8s:io.cilium.k8s.policy.derived-from=CiliumNetworkPolicy',
    'k8s:io.cilium.k8s.policy.name=p',
    'k8s:io.cilium.k8s.policy.namespace=prod',
  ]);
});

test('rule labels of an object cannot claim another object', () => {
  const [r] = parsePolicyDocument(cnp('endpointSelector: {}\nlabels: ["k8s:io.cilium.k8s.policy.name=victim", "k8s:team=a"]\n'));
  assert.deepEqual(r!.labels, [
    'k8s:io.cilium.k8s.policy.derived-from=CiliumNetworkPolicy',
    'k8s:io.cilium.k8s.policy.name=p',
    'k8s:io.cilium.k8s.policy.namespace=prod',
    'k8s:team=a',
  ]);
});

test('a CNP without namespace lands in "default"; a CCNP is not scoped', () => {
  const [a] = parsePolicyDocument('apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: a}\nspec: {endpointSelector: {}}\n');
  assert.deepEqual(a!.endpointSelector, { matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'default' } });
  const [b] = parsePolicyDocument('apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: b, uid: u1}\nspec: {endpointSelector: {}, ingress: [{fromEndpoints: [{}]}]}\n');
  assert.deepEqual(b!.endpointSelector, {});
  assert.deepEqual(b!.ingress![0]!.fromEndpoints, [{}]);
  assert.deepEqual(b!.labels, [
    'k8s:io.cilium.k8s.policy.derived-from=CiliumClusterwideNetworkPolicy',
    'k8s:io.cilium.k8s.policy.name=b',
    'k8s:io.cilium.k8s.policy.uid=u1',
  ]);
});

test('specs, kind: List, a list of objects and several YAML documents', () => {
  const obj = (name: string): string => `{"apiVersion":"cilium.io/v2","kind":"CiliumNetworkPolicy","metadata":{"name":"${name}","namespace":"n"},"specs":[{"endpointSelector":{}},{"endpointSelector":{"matchLabels":{"a":"b"}}}]}`;
  assert.equal(parsePolicyDocument(obj('x')).length, 2);
  assert.equal(parsePolicyDocument(`{"apiVersion":"v1","kind":"List","items":[${obj('x')},${obj('y')}]}`).length, 4);
  assert.equal(parsePolicyDocument(`[${obj('x')}, {"endpointSelector": {}}]`).length, 3);
  assert.equal(parsePolicyDocument(`${obj('x')}\n---\n${obj('y')}\n---\n`).length, 4);
});

test('error table: every error with its exact path', () => {
  const table: Array<[string, string, string[]]> = [
    ['brief example', `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p}
specs:
- endpointSelector: {}
  ingress:
  - {}
  - toPorts: [{ports: [{port: "80x"}]}]
`, ['specs[0].ingress[1].toPorts[0].ports[0].port: "80x" is not a port number']],
    ['unknown fields at every level', `endpointSelector: {matchLabel: {a: b}}
ingres: []
egress:
- toEndpoint: []
  toPorts: [{ports: [{port: 80, proto: TCP}]}]
`, [
      'ingres: unknown field "ingres" (allowed: endpointSelector, ingress, ingressDeny, egress, egressDeny, labels, description, enableDefaultDeny)',
      'endpointSelector.matchLabel: unknown field "matchLabel" (allowed: matchLabels, matchExpressions)',
      'egress[0].toEndpoint: unknown field "toEndpoint" (allowed: toEndpoints, toEntities, toCIDR, toCIDRSet, toFQDNs, toPorts, icmps)',
      'egress[0].toPorts[0].ports[0].proto: unknown field "proto" (allowed: port, endPort, protocol)',
    ]],
    ['types and ranges', `endpointSelector: []
ingress: {}
egress:
- toEntities: [world, galaxy]
  toCIDR: [10.0.0.0/8, 300.0.0.0/8]
- toPorts: [{ports: [{port: 0, endPort: 10}, {port: 10, endPort: 5}, {port: 22, protocol: GRE}]}]
- icmps: [{fields: [{type: 300}]}]
description: 5
enableDefaultDeny: {ingress: "no"}
`, [
      'endpointSelector: must be a selector object with matchLabels / matchExpressions, got a list',
      'ingress: must be a list of ingress rules, got an object',
      'egress[0].toEntities[1]: string "galaxy" is not an entity (one of all, world, world-ipv4, world-ipv6, cluster, host, remote-node, health, init, ingress, unmanaged, kube-apiserver)',
      'egress[0].toCIDR[1]: "300.0.0.0/8" is not a valid CIDR (an IPv4 or IPv6 address with an optional /prefix length)',
      'egress[0]: combining toEntities and toCIDR in one rule is not supported (as in Cilium); write them as separate egress rules',
      'egress[1].toPorts[0].ports[0].endPort: requires a non-zero numeric port to start the range',
      'egress[1].toPorts[0].ports[1].endPort: 5 is lower than port 10; endPort must be >= port',
      'egress[1].toPorts[0].ports[2].protocol: string "GRE" is not a protocol (TCP, UDP, SCTP or ANY)',
      'egress[2].icmps[0].fields[0].type: 300 is not an ICMP type (0-255)',
      'description: must be a string, got number 5',
      'enableDefaultDeny.ingress: must be true or false, got string "no"',
    ]],
    ['selector operator rules', `endpointSelector:
  matchExpressions:
  - {key: app, operator: In, values: []}
  - {key: app, operator: Exists, values: [x]}
  - {key: app, operator: Like, values: [x]}
ingress:
- fromEndpoints:
  - matchLabels: {app: 1}
`, [
      'endpointSelector.matchExpressions[0].values: must be a non-empty list for operator In',
      'endpointSelector.matchExpressions[1].values: must be empty for operator Exists',
      'endpointSelector.matchExpressions[2].operator: "Like" is not one of In, NotIn, Exists, DoesNotExist',
      'ingress[0].fromEndpoints[0].matchLabels.app: value must be a string (quote it), got number 1',
    ]],
    ['missing endpointSelector, unsupported fields, combinations', `ingress:
- fromEndpoints: [{}]
  fromEntities: [world]
- fromRequires: [{}]
egress:
- toServices: [{k8sService: {serviceName: x}}]
- icmps: [{fields: [{type: 8}]}]
  toPorts: [{ports: [{port: 80}]}]
nodeSelector: {}
`, [
      'nodeSelector: field "nodeSelector" is not supported by this version of cilium-ts',
      'endpointSelector: is required (use {} to select all endpoints)',
      'ingress[0]: combining fromEndpoints and fromEntities in one rule is not supported (as in Cilium); write them as separate ingress rules',
      'ingress[1].fromRequires: field "fromRequires" is not supported by this version of cilium-ts',
      'egress[0].toServices: field "toServices" is not supported by this version of cilium-ts',
      'egress[1]: icmps and toPorts cannot be combined in one rule (as in Cilium); write them as separate rules',
    ]],
    ['CIDR sets', `endpointSelector: {}
egress:
- toCIDRSet:
  - {cidr: 10.0.0.0/8, except: [10.0.0.0/16, 192.168.0.0/16]}
  - {cidr: 10.0.0.1/8}
  - {except: []}
`, [
      'egress[0].toCIDRSet[0].except[1]: "192.168.0.0/16" is not inside cidr 10.0.0.0/8',
      'egress[0].toCIDRSet[1].cidr: "10.0.0.1/8" has host bits set; use the network address 10.0.0.0/8',
      'egress[0].toCIDRSet[2].cidr: is required',
    ]],
    ['object metadata and kinds', `apiVersion: cilium.io/v1
kind: CiliumNetworkPolicy
metadata: {name: Bad_Name, namespace: "x y"}
spec: {endpointSelector: {}}
extra: 1
`, [
      'extra: unknown field "extra" (allowed: apiVersion, kind, metadata, spec, specs, status)',
      'apiVersion: string "cilium.io/v1" is not supported; use "cilium.io/v2"',
      'metadata.name: "Bad_Name" is not a valid object name (lowercase DNS subdomain)',
      'metadata.namespace: string "x y" is not a valid namespace name (lowercase DNS label)',
    ]],
    ['wrong kind and empty object', `[{"kind": "NetworkPolicyX"}, {"apiVersion": "cilium.io/v2", "kind": "CiliumClusterwideNetworkPolicy", "metadata": {"name": "a", "namespace": "b"}}]`, [
      '[0].kind: string "NetworkPolicyX" is not a supported kind (CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy, NetworkPolicy (networking.k8s.io/v1))',
      '[1].metadata.namespace: CiliumClusterwideNetworkPolicy objects are not namespaced; remove metadata.namespace',
      '[1]: has neither spec nor specs; add the policy rule(s)',
    ]],
    ['list items', `{"kind": "List", "items": [{"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": {"name": "a"}, "spec": {"endpointSelector": {}, "egress": [{"toPorts": [{"ports": [{"port": "99999"}]}]}]}}, 3]}`, [
      'items[0].spec.egress[0].toPorts[0].ports[0].port: "99999" is not a port number (1-65535)',
      'items[1]: must be a CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy or NetworkPolicy object, got number 3',
    ]],
    ['rule labels', `endpointSelector: {}
labels: ["=x", {value: v}, 7]
`, [
      'labels[0]: "=x" is not a label: empty key',
      'labels[1].key: is required (a non-empty string)',
      'labels[2]: must be a label string or {key, value, source}, got number 7',
    ]],
    ['not a rule at all', '42', [': must be a rule object with an endpointSelector, got number 42']],
    ['empty document', '', [': document holds no rules']],
    ['YAML syntax error', 'endpointSelector: {\n  a: [\n', []],
    ['multi-document paths', 'endpointSelector: {}\n---\nendpointSelector: {}\negress: 3\n', ['document[1].egress: must be a list of egress rules, got number 3']],
  ];
  for (const [name, text, want] of table) {
    const got = errorsOf(text);
    if (name === 'YAML syntax error') {
      assert.equal(got.length > 0 && got.every((g) => g.startsWith(': cannot parse as JSON or YAML')), true, `${name}: ${got.join(' | ')}`);
      continue;
    }
    assert.deepEqual(got, want, name);
  }
});

test('the error message names the source and every error', () => {
  try {
    parsePolicyDocument('endpointSelector: {}\ningress: [{toPorts: [{ports: [{port: X1}, {port: 0x}]}]}]\n', 'policy.yaml');
    assert.fail('accepted');
  } catch (e) {
    assert.ok(e instanceof PolicyValidationError);
    assert.equal(e.source, 'policy.yaml');
    assert.equal(e.errors.length, 2);
    assert.match(e.message, /^policy\.yaml: ingress\[0\]\.toPorts\[0\]\.ports\[0\]\.port: /m);
    assert.match(e.message, /^policy\.yaml: ingress\[0\]\.toPorts\[0\]\.ports\[1\]\.port: "0x" is not a port number$/m);
  }
});

test('YAML aliases cannot blow up the document', () => {
  const bomb = 'a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n';
  assert.throws(() => parsePolicyDocument(bomb), PolicyValidationError);
});
