import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { proxy as api } from '@cilium-ts/api';
import { PolicyEngine, parsePolicyDocument } from '@cilium-ts/policy';
import { buildL7Endpoints } from './l7-endpoint-policy.js';

// The proxy's view of the endpoints' policy, from the real policy engine.
describe('buildL7Endpoints', () => {
  const engine = new PolicyEngine({ identities: [[300, ['k8s:app=a']], [301, ['k8s:app=b']], [302, ['k8s:app=web']], [303, ['k8s:app=plain']]] });
  engine.addRules(
    parsePolicyDocument(
      JSON.stringify([
        // No fromEndpoints: every peer, on port 80, GET /public only.
        { endpointSelector: { matchLabels: { app: 'web' } }, ingress: [{ toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }], rules: { http: [{ method: 'GET', path: '/public' }] } }] }] },
        // a may send anything on 80 (a plain allow beside the L7 rule).
        { endpointSelector: { matchLabels: { app: 'web' } }, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'a' } }], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }] }] }] },
        // b: POST /x on 8080 and 8081 (a range).
        { endpointSelector: { matchLabels: { app: 'web' } }, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'b' } }], toPorts: [{ ports: [{ port: '8080', endPort: 8081, protocol: 'TCP' }], rules: { http: [{ method: 'POST', path: '/x', headers: ['X-Token: 1'] }] } }] }] },
        // Kafka has no listener yet: stays fail-closed, not sent.
        { endpointSelector: { matchLabels: { app: 'web' } }, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'b' } }], toPorts: [{ ports: [{ port: '9092', protocol: 'TCP' }], rules: { kafka: [{ role: 'produce', topic: 't' }] } }] }] },
        // An endpoint with an L4 rule only.
        { endpointSelector: { matchLabels: { app: 'plain' } }, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'a' } }], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }] }] }] },
      ]),
    ),
  );
  const web = { id: 7, identity: 302, ipv4: '10.0.0.7', ipv6: 'fd00::7', handle: engine.endpoint(['k8s:app=web']) };
  const plain = { id: 3, identity: 303, ipv4: '10.0.0.3', handle: engine.endpoint(['k8s:app=plain']) };

  test('per redirected port: the any-peer entry (identity 0), peers with their own entries (rules or allowAll); nothing for L4-only endpoints or kafka', () => {
    const out = buildL7Endpoints([web, plain]).map((e) => api.EndpointPolicy.toJSON(e));
    const http = (method: string, path: string, headers: string[] = []) => ({ method, path, host: '', headers });
    const strip = (o: unknown): unknown => JSON.parse(JSON.stringify(o));
    assert.deepEqual(strip(out), strip([
      {
        endpointId: 7,
        identity: 302,
        addresses: ['10.0.0.7', 'fd00::7'],
        ports: [
          { direction: 'INGRESS', port: 80, proxyPort: 10001, peers: [api.PeerPolicy.toJSON(api.PeerPolicy.fromPartial({ identity: 0, http: [http('GET', '/public')] })), api.PeerPolicy.toJSON(api.PeerPolicy.fromPartial({ identity: 300, allowAll: true }))] },
          ...[8080, 8081].map((port) => ({ direction: 'INGRESS', port, proxyPort: 10001, peers: [api.PeerPolicy.toJSON(api.PeerPolicy.fromPartial({ identity: 301, http: [http('POST', '/x', ['X-Token: 1'])] }))] })),
        ],
      },
    ]));
  });

  test('equal policies give equal updates; an endpoint whose rule goes leaves the update', () => {
    assert.deepEqual(buildL7Endpoints([plain, web]), buildL7Endpoints([web, plain]));
    assert.deepEqual(buildL7Endpoints([plain]), []);
  });

  test('an egress DNS rule is sent as the egress dns listener (10004) on UDP and TCP port 53 with its matchName / matchPattern', () => {
    const dnsEngine = new PolicyEngine({ identities: [[310, ['k8s:app=client']], [311, ['k8s:app=dns']]] });
    dnsEngine.addRules(parsePolicyDocument(JSON.stringify([
      { endpointSelector: { matchLabels: { app: 'client' } }, egress: [{ toEndpoints: [{ matchLabels: { app: 'dns' } }], toPorts: [{ ports: [{ port: '53', protocol: 'ANY' }], rules: { dns: [{ matchName: 'allowed.example' }, { matchPattern: '*.svc.example' }] } }] }] },
    ])));
    const out = buildL7Endpoints([{ id: 9, identity: 310, ipv4: '10.0.0.9', handle: dnsEngine.endpoint(['k8s:app=client']) }]);
    assert.equal(out.length, 1);
    assert.deepEqual(out[0]!.ports.map((p) => [p.direction, p.port, p.proxyPort, p.peers.map((x) => [x.identity, x.allowAll, x.dns.map((r) => r.matchName || r.matchPattern)])]), [
      [api.TrafficDirection.EGRESS, 53, 10004, [[311, false, ['allowed.example', '*.svc.example']]]],
    ]);
  });
});
