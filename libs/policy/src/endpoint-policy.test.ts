import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePolicyDocument } from './document.js';
import { computeEndpointPolicy } from './endpoint-policy.js';
import { MinLocalIdentity, StaticIdentityLookup } from './identity.js';
import type { PolicyEntry } from './policy-entry.js';
import { Repository } from './repository.js';

const NS = 'k8s:io.kubernetes.pod.namespace';
const ids = new StaticIdentityLookup([
  [300, ['k8s:app=web', `${NS}=prod`]],
  [301, ['k8s:app=client', `${NS}=prod`]],
  [302, ['k8s:app=client', `${NS}=dev`]],
  [303, ['k8s:app=db', `${NS}=prod`]],
  [304, [`${NS}=prod`]],
  [305, ['k8s:app=client', 'k8s:role=admin', `${NS}=prod`]],
  [MinLocalIdentity + 1, ['cidr:10.1.0.0/16', 'reserved:world-ipv4']],
  [MinLocalIdentity + 2, ['cidr:192.168.0.0/24', 'reserved:world-ipv4']],
]);
const WEB = ['k8s:app=web', `${NS}=prod`];

function policy(doc: string, labels = WEB): ReturnType<typeof computeEndpointPolicy> {
  const repo = new Repository();
  repo.add(parsePolicyDocument(doc, 'test'));
  return computeEndpointPolicy(repo, labels, ids);
}
const short = (es: PolicyEntry[]): string[] =>
  es.map((e) => `${e.direction[0]}${e.deny ? '!' : ''} ${e.identity} ${e.protocol}/${e.port}${e.endPort ? `-${e.endPort}` : ''}`);
const cnp = (spec: string, ns = 'prod'): string =>
  `apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: t, namespace: ${ns}}\nspec:\n${spec.replace(/^/gm, '  ')}`;

test('no rule selecting the endpoint: nothing enforced, no entries', () => {
  const p = computeEndpointPolicy(new Repository(), WEB, ids);
  assert.deepEqual(p, { ingressEnforced: false, egressEnforced: false, entries: [], revision: 1 });
  const q = policy('endpointSelector: {matchLabels: {app: db}}\ningress: [{}]\n');
  assert.deepEqual([q.ingressEnforced, q.egressEnforced, q.entries], [false, false, []]);
});

test('L3-only allow: wildcard protocol and port per peer identity', () => {
  const p = policy('endpointSelector: {matchLabels: {app: web}}\ningress:\n- fromEndpoints: [{matchLabels: {app: client}}]\n');
  assert.equal(p.ingressEnforced, true);
  assert.equal(p.egressEnforced, false);
  assert.deepEqual(short(p.entries), ['i 301 0/0', 'i 302 0/0', 'i 305 0/0']);
});

test('L4 allow: ANY expands to TCP, UDP, SCTP; ranges keep endPort', () => {
  const p = policy(
    'endpointSelector: {matchLabels: {app: web}}\ningress:\n- fromEndpoints: [{matchLabels: {k8s:app: db}}]\n  toPorts: [{ports: [{port: "80", protocol: TCP}, {port: "53"}, {port: "9000", endPort: 9010, protocol: UDP}]}]\n',
  );
  assert.deepEqual(short(p.entries), ['i 303 6/80', 'i 303 6/53', 'i 303 17/53', 'i 303 17/9000-9010', 'i 303 132/53'].sort(byEntry(p.entries)));
});
function byEntry(entries: PolicyEntry[]): (a: string, b: string) => number {
  const order = short(entries);
  return (a, b) => order.indexOf(a) - order.indexOf(b);
}

test('L4-only rule (ports, no peers) applies to every peer: identity 0', () => {
  const p = policy('endpointSelector: {}\negress:\n- toPorts: [{ports: [{port: "53", protocol: UDP}]}]\n');
  assert.deepEqual(short(p.entries), ['e 0 17/53']);
  assert.equal(p.egressEnforced, true);
});

test('multiple peers and multiple rules merge into one sorted list', () => {
  const p = policy(`- endpointSelector: {matchLabels: {app: web}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: db}}, {matchLabels: {role: admin}}]
    toPorts: [{ports: [{port: "22", protocol: TCP}]}]
- endpointSelector: {matchLabels: {app: web}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: db}}]
    toPorts: [{ports: [{port: "22", protocol: TCP}]}]
  egress:
  - toEndpoints: [{matchLabels: {app: db}}]
`);
  assert.deepEqual(short(p.entries), ['i 303 6/22', 'i 305 6/22', 'e 303 0/0']);
  assert.equal(p.egressEnforced, true);
});

test('deny precedence: a deny drops a covered allow and wins on the same key', () => {
  const p = policy(`endpointSelector: {matchLabels: {app: web}}
ingress:
- fromEndpoints: [{matchLabels: {app: client}}]
  toPorts: [{ports: [{port: "80", protocol: TCP}]}]
- fromEndpoints: [{matchLabels: {app: db}}]
ingressDeny:
- fromEndpoints: [{matchLabels: {role: admin}}]
- fromEndpoints: [{matchLabels: {app: client}}]
  toPorts: [{ports: [{port: "80", protocol: TCP}]}]
- fromEndpoints: [{matchLabels: {app: db}}]
  toPorts: [{ports: [{port: "5432", protocol: TCP}]}]
`);
  assert.deepEqual(short(p.entries), ['i 301 6/80'.replace('i ', 'i! '), 'i 302 6/80'.replace('i ', 'i! '), 'i 303 0/0', 'i! 303 6/5432', 'i! 305 0/0']);
});

test('a deny-only rule enforces the direction (nothing allowed)', () => {
  const p = policy('endpointSelector: {}\negressDeny:\n- toEntities: [world]\n');
  assert.equal(p.egressEnforced, true);
  assert.deepEqual(short(p.entries), ['e! 2 0/0', `e! 9 0/0`, `e! 10 0/0`, `e! ${MinLocalIdentity + 1} 0/0`, `e! ${MinLocalIdentity + 2} 0/0`]);
});

test('namespace scoping: a CNP selects and allows only its own namespace', () => {
  const doc = cnp('endpointSelector: {matchLabels: {app: web}}\ningress:\n- fromEndpoints: [{matchLabels: {app: client}}]\n');
  assert.deepEqual(short(policy(doc).entries), ['i 301 0/0', 'i 305 0/0']);
  // The same policy in namespace dev does not select prod's web at all.
  assert.deepEqual(policy(cnp('endpointSelector: {}\ningress: [{}]\n', 'dev')).ingressEnforced, false);
  // A peer selector naming another namespace crosses over, as in Cilium.
  const cross = cnp('endpointSelector: {}\ningress:\n- fromEndpoints: [{matchLabels: {app: client, io.kubernetes.pod.namespace: dev}}]\n');
  assert.deepEqual(short(policy(cross).entries), ['i 302 0/0']);
});

test('namespace scoping: DoesNotExist and {} peers do not escape the namespace', () => {
  const dne = cnp('endpointSelector: {}\ningress:\n- fromEndpoints: [{matchExpressions: [{key: app, operator: DoesNotExist}]}]\n');
  // Only 304 (prod, no app): not world, host, other reserved identities, nor dev pods.
  assert.deepEqual(short(policy(dne).entries), ['i 304 0/0']);
  const all = cnp('endpointSelector: {}\negress:\n- toEndpoints: [{}]\n');
  assert.deepEqual(short(policy(all).entries), ['e 300 0/0', 'e 301 0/0', 'e 303 0/0', 'e 304 0/0', 'e 305 0/0']);
  const notIn = cnp('endpointSelector: {}\negress:\n- toEndpoints: [{matchExpressions: [{key: io.kubernetes.pod.namespace, operator: NotIn, values: [prod]}]}]\n');
  assert.deepEqual(short(policy(notIn).entries), ['e 302 0/0']);
  const nsDne = cnp('endpointSelector: {}\negress:\n- toEndpoints: [{matchExpressions: [{key: k8s:io.kubernetes.pod.namespace, operator: DoesNotExist}]}]\n');
  assert.deepEqual(short(policy(nsDne).entries), []);
});

test('clusterwide: {} peer is the wildcard identity 0; DoesNotExist reaches reserved identities', () => {
  const ccnp = (spec: string): string => `apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: c}\nspec:\n${spec.replace(/^/gm, '  ')}`;
  assert.deepEqual(short(policy(ccnp('endpointSelector: {}\ningress:\n- fromEndpoints: [{}]\n')).entries), ['i 0 0/0']);
  const dne = policy(ccnp('endpointSelector: {}\ningress:\n- fromEndpoints: [{matchExpressions: [{key: app, operator: DoesNotExist}]}]\n'));
  assert.ok(dne.entries.some((e) => e.identity === 2));
});

test('entities: all, world, cluster, host, remote-node', () => {
  const ent = (e: string): string[] => short(policy(`endpointSelector: {}\ningress:\n- fromEntities: [${e}]\n`).entries);
  assert.deepEqual(ent('all'), ['i 0 0/0']);
  assert.deepEqual(ent('world'), ['i 2 0/0', 'i 9 0/0', 'i 10 0/0', `i ${MinLocalIdentity + 1} 0/0`, `i ${MinLocalIdentity + 2} 0/0`]);
  assert.deepEqual(ent('host'), ['i 1 0/0']);
  assert.deepEqual(ent('remote-node'), ['i 6 0/0']);
  assert.deepEqual(ent('kube-apiserver'), ['i 7 0/0']);
  assert.deepEqual(ent('cluster'), ['i 1 0/0', 'i 3 0/0', 'i 4 0/0', 'i 5 0/0', 'i 6 0/0', 'i 7 0/0', 'i 8 0/0', 'i 300 0/0', 'i 301 0/0', 'i 302 0/0', 'i 303 0/0', 'i 304 0/0', 'i 305 0/0']);
});

test('CIDR peers select CIDR identities inside the prefix, minus except; /0 selects world', () => {
  assert.deepEqual(short(policy('endpointSelector: {}\negress:\n- toCIDR: [10.0.0.0/8]\n').entries), [`e ${MinLocalIdentity + 1} 0/0`]);
  assert.deepEqual(short(policy('endpointSelector: {}\negress:\n- toCIDRSet: [{cidr: 10.0.0.0/8, except: [10.1.0.0/16]}]\n').entries), []);
  assert.deepEqual(short(policy('endpointSelector: {}\negress:\n- toCIDR: [0.0.0.0/0]\n').entries), ['e 2 0/0', 'e 9 0/0', `e ${MinLocalIdentity + 1} 0/0`, `e ${MinLocalIdentity + 2} 0/0`]);
  // A CIDR rule never widens to identity 0 even when no identity matches yet.
  assert.deepEqual(short(policy('endpointSelector: {}\negress:\n- toCIDR: [172.16.0.0/12]\n  toPorts: [{ports: [{port: "443", protocol: TCP}]}]\n').entries), []);
});

test('enableDefaultDeny false: not enforced, but deny entries and a wildcard allow are kept', () => {
  const p = policy('endpointSelector: {}\nenableDefaultDeny: {ingress: false}\ningressDeny:\n- fromEntities: [world]\n  toPorts: [{ports: [{port: "22", protocol: TCP}]}]\n');
  assert.equal(p.ingressEnforced, false);
  assert.deepEqual(short(p.entries), ['i 0 0/0', 'i! 2 6/22', 'i! 9 6/22', 'i! 10 6/22', `i! ${MinLocalIdentity + 1} 6/22`, `i! ${MinLocalIdentity + 2} 6/22`]);
  const both = policy(`- endpointSelector: {}
  enableDefaultDeny: {ingress: false}
  ingress: [{fromEntities: [host]}]
- endpointSelector: {matchLabels: {app: web}}
  ingress: [{fromEntities: [health]}]
`);
  assert.equal(both.ingressEnforced, true);
  assert.deepEqual(short(both.entries), ['i 1 0/0', 'i 4 0/0']);
});

test('ICMP rules emit per-type entries; named ports resolve on ingress only', () => {
  const p = policy('endpointSelector: {}\ningress:\n- icmps: [{fields: [{type: 8}, {type: EchoRequest, family: IPv6}]}]\n');
  assert.deepEqual(short(p.entries), ['i 0 1/8', 'i 0 58/128']);
  const repo = new Repository();
  repo.add(parsePolicyDocument('endpointSelector: {}\ningress:\n- toPorts: [{ports: [{port: http, protocol: TCP}, {port: metrics}]}]\negress:\n- toPorts: [{ports: [{port: http}]}]\n'));
  const q = computeEndpointPolicy(repo, WEB, ids, { namedPorts: { http: 8080 } });
  assert.deepEqual(short(q.entries), ['i 0 6/8080']);
  assert.equal(q.egressEnforced, true);
});

test('the result is deterministic whatever the rule and identity order', () => {
  const rules = parsePolicyDocument(`- endpointSelector: {}
  ingress: [{fromEndpoints: [{matchLabels: {app: client}}], toPorts: [{ports: [{port: "80"}]}]}]
- endpointSelector: {}
  ingress: [{fromEntities: [world]}]
  egressDeny: [{toEndpoints: [{matchLabels: {app: db}}]}]
`);
  const a = new Repository();
  a.add(rules);
  const b = new Repository();
  b.add([...rules].reverse());
  const rev = new StaticIdentityLookup([...ids.all()].reverse());
  assert.deepEqual(computeEndpointPolicy(a, WEB, ids).entries, computeEndpointPolicy(b, WEB, rev).entries);
});

test('the host endpoint is not selected by endpoint selectors', () => {
  const p = policy('endpointSelector: {}\ningress: [{}]\n', ['reserved:host']);
  assert.equal(p.ingressEnforced, false);
});
