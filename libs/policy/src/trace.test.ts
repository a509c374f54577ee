import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePolicyDocument } from './document.js';
import { StaticIdentityLookup } from './identity.js';
import { Repository } from './repository.js';
import { TraceRequestError, tracePolicy } from './trace.js';

const NS = 'k8s:io.kubernetes.pod.namespace';
const WEB = ['k8s:app=web', `${NS}=prod`];
const CLIENT = ['k8s:app=client', `${NS}=prod`];
const DB = ['k8s:app=db', `${NS}=prod`];

function repoOf(doc: string): Repository {
  const r = new Repository();
  r.add(parsePolicyDocument(doc, 'test'));
  return r;
}

const POLICY = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: web-ingress, namespace: prod}
specs:
- endpointSelector: {matchLabels: {app: web}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: client}}]
    toPorts: [{ports: [{port: "80", protocol: TCP}]}]
- endpointSelector: {matchLabels: {app: web}}
  ingressDeny:
  - fromEndpoints: [{matchLabels: {app: client}}]
    toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
- endpointSelector: {matchLabels: {app: client}}
  egress:
  - toEndpoints: [{matchLabels: {app: web}}]
`;

test('allowed: egress allowed by one rule, ingress by another, both named', () => {
  const t = tracePolicy(repoOf(POLICY), { srcLabels: CLIENT, dstLabels: WEB, dport: 80, protocol: 'TCP' });
  assert.equal(t.verdict, 'ALLOWED');
  assert.equal(t.egress.verdict, 'ALLOWED');
  assert.deepEqual(t.egress.allowedBy, ['CiliumNetworkPolicy prod/web-ingress (#2)']);
  assert.deepEqual(t.ingress.allowedBy, ['CiliumNetworkPolicy prod/web-ingress (#0)']);
  assert.equal(t.lines.at(-1), 'Final verdict: ALLOWED');
  assert.ok(t.lines.some((l) => l.includes('Found allow rule CiliumNetworkPolicy prod/web-ingress (#0)')));
});

test('denied by default deny: wrong port, and by an explicit deny rule', () => {
  const repo = repoOf(POLICY);
  const wrongPort = tracePolicy(repo, { srcLabels: CLIENT, dstLabels: WEB, dport: 443 });
  assert.equal(wrongPort.verdict, 'DENIED');
  assert.equal(wrongPort.ingress.enforced, true);
  assert.deepEqual(wrongPort.ingress.allowedBy, []);
  assert.ok(wrongPort.lines.includes('No rule allows it and ingress is enforced (default deny)'));
  const denied = tracePolicy(repo, { srcLabels: CLIENT, dstLabels: WEB, dport: 8080 });
  assert.equal(denied.verdict, 'DENIED');
  assert.deepEqual(denied.ingress.deniedBy, ['CiliumNetworkPolicy prod/web-ingress (#1)']);
  const udp = tracePolicy(repo, { srcLabels: CLIENT, dstLabels: WEB, dport: 80, protocol: 'UDP' });
  assert.equal(udp.verdict, 'DENIED');
});

test('egress decides too: client may only talk to web', () => {
  const t = tracePolicy(repoOf(POLICY), { srcLabels: CLIENT, dstLabels: DB, dport: 5432 });
  assert.equal(t.egress.verdict, 'DENIED');
  assert.equal(t.ingress.verdict, 'ALLOWED');
  assert.equal(t.ingress.enforced, false);
  assert.equal(t.verdict, 'DENIED');
});

test('namespace scoping shows in trace: a client from another namespace is denied', () => {
  const t = tracePolicy(repoOf(POLICY), { srcLabels: ['k8s:app=client', `${NS}=dev`], dstLabels: WEB, dport: 80 });
  assert.equal(t.ingress.verdict, 'DENIED');
});

test('entities resolve through the identity lookup or reserved labels', () => {
  const repo = repoOf('endpointSelector: {}\negress:\n- toEntities: [world]\n  toPorts: [{ports: [{port: "443", protocol: TCP}]}]\n');
  const ids = new StaticIdentityLookup([[300, WEB]]);
  const t = tracePolicy(repo, { srcLabels: WEB, dstLabels: ['reserved:world'], dport: 443 }, ids);
  assert.equal(t.verdict, 'ALLOWED');
  assert.match(t.lines[0]!, /\(identity 300\).*\(identity 2\)/);
  assert.equal(tracePolicy(repo, { srcLabels: WEB, dstLabels: ['reserved:host'], dport: 443 }).verdict, 'DENIED');
});

test('no policy at all: allowed, nothing enforced', () => {
  const t = tracePolicy(new Repository(), { srcLabels: CLIENT, dstLabels: WEB });
  assert.equal(t.verdict, 'ALLOWED');
  assert.equal(t.egress.enforced || t.ingress.enforced, false);
});

test('malformed requests throw TraceRequestError', () => {
  const repo = new Repository();
  assert.throws(() => tracePolicy(repo, { srcLabels: [], dstLabels: [], dport: 70000 }), TraceRequestError);
  assert.throws(() => tracePolicy(repo, { srcLabels: [], dstLabels: [], protocol: 'GRE' }), TraceRequestError);
  assert.throws(() => tracePolicy(repo, { srcLabels: ['=x'], dstLabels: [] }), (e: unknown) => e instanceof TraceRequestError && e.field === 'srcLabels');
});

const L7_POLICY = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: web-l7, namespace: prod}
specs:
- endpointSelector: {matchLabels: {app: web}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: client}}]
    toPorts: [{ports: [{port: "80", protocol: TCP}], rules: {http: [{method: GET, path: /public}]}}]
  - fromEndpoints: [{matchLabels: {app: client}}]
    toPorts: [{ports: [{port: "80", protocol: TCP}, {port: "81", protocol: TCP}]}]
- endpointSelector: {matchLabels: {app: client}}
  egress:
  - toEndpoints: [{matchLabels: {app: web}}]
`;

test('an L7 rule whose proxy is not ready: dropped (fail-closed, reason 165), even beside an L4 allow of the same port; the L4-only port is allowed', () => {
  const repo = repoOf(L7_POLICY);
  const l7 = tracePolicy(repo, { srcLabels: CLIENT, dstLabels: WEB, dport: 80 });
  assert.equal(l7.verdict, 'DENIED');
  assert.equal(l7.ingress.verdict, 'DENIED');
  assert.equal(l7.ingress.dropReason, 165);
  assert.equal(l7.ingress.proxyPort, 10001);
  assert.ok(!l7.lines.some((l) => l.includes('(L7 http, proxy 10001): matches')), 'no longer says the L7 rule matches');
  assert.ok(l7.lines.some((l) => l.includes('redirects to L7 proxy 10001, which is not ready: dropped (fail-closed)')));
  assert.ok(l7.lines.includes('Dropped (fail-closed): No configuration available to perform policy decision (drop reason 165)'));
  assert.equal(l7.lines.at(-1), 'Final verdict: DENIED');
  const l4 = tracePolicy(repo, { srcLabels: CLIENT, dstLabels: WEB, dport: 81 });
  assert.equal(l4.verdict, 'ALLOWED');
  assert.equal(l4.ingress.dropReason, undefined);
});

test('an L7 rule whose proxy has acknowledged the redirect: allowed through the proxy; only the acknowledged direction and port count', () => {
  const repo = repoOf(L7_POLICY);
  const asked: Array<[string, number]> = [];
  const ready = tracePolicy(repo, { srcLabels: CLIENT, dstLabels: WEB, dport: 80, proxyReady: (dir, port) => (asked.push([dir, port]), dir === 'ingress' && port === 10001) });
  assert.deepEqual(asked.filter(([d]) => d === 'ingress').at(-1), ['ingress', 10001]);
  assert.equal(ready.verdict, 'ALLOWED');
  assert.deepEqual({ ...ready.ingress, allowedBy: [] }, { verdict: 'ALLOWED', enforced: true, rulesSelected: 1, allowedBy: [], deniedBy: [], proxyPort: 10001, proxyReady: true });
  assert.ok(ready.lines.some((l) => l.includes('redirected to L7 proxy 10001 (ready), which enforces its L7 rules')), ready.lines.join('\n'));
  assert.ok(!ready.lines.some((l) => l.includes('drop reason 165')));
  // Acknowledged for another port or the other direction only: still dropped.
  const other = tracePolicy(repo, { srcLabels: CLIENT, dstLabels: WEB, dport: 80, proxyReady: (dir, port) => dir === 'egress' || port !== 10001 });
  assert.equal(other.verdict, 'DENIED');
  assert.equal(other.ingress.dropReason, 165);
  assert.equal(other.ingress.proxyReady, false);
});
