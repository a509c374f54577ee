// Regression cases for the classes of bugs behind Cilium's policy security advisories.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parsePolicyDocument } from './document.js';
import { computeEndpointPolicy } from './endpoint-policy.js';
import type { EndpointPolicyHandle } from './endpoint-policy-handle.js';
import { ReservedIdentity, StaticIdentityLookup } from './identity.js';
import { httpAllowed } from './l7-match.js';
import { type PolicyPacket, evaluateEntries } from './policy-entry.js';
import { PolicyEngine } from './policy-engine.js';
import { Protocol } from './protocol.js';
import { Repository } from './repository.js';
import { tracePolicy } from './trace.js';

const NS = 'k8s:io.kubernetes.pod.namespace';
const pod = (ns: string, app: string): string[] => [`k8s:app=${app}`, `${NS}=${ns}`];

function allowed(h: EndpointPolicyHandle, p: PolicyPacket): boolean {
  return evaluateEntries(h.entries(), p, p.direction === 'ingress' ? h.ingressEnforced : h.egressEnforced).allowed;
}

describe('a DoesNotExist / NotIn selector does not escape its namespace', () => {
  const ids = new StaticIdentityLookup([
    [300, pod('x', 'web')],
    [301, pod('x', 'nolabel').filter((l) => !l.startsWith('k8s:app'))],
    [302, pod('y', 'nolabel').filter((l) => !l.startsWith('k8s:app'))],
    [303, pod('y', 'client')],
  ]);
  const cnp = (peer: unknown): Repository => {
    const repo = new Repository();
    repo.add(parsePolicyDocument(JSON.stringify({ apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'p', namespace: 'x' }, spec: { endpointSelector: { matchLabels: { app: 'web' } }, ingress: [{ fromEndpoints: [peer] }] } })));
    return repo;
  };
  const peersOf = (repo: Repository): number[] => computeEndpointPolicy(repo, pod('x', 'web'), ids).entries.map((e) => e.identity);

  test('DoesNotExist on a pod label selects only pods of the policy namespace', () => {
    assert.deepEqual(peersOf(cnp({ matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] })), [301]);
  });

  test('DoesNotExist on the namespace label selects no identity at all (not world, host or other namespaces)', () => {
    const repo = cnp({ matchExpressions: [{ key: NS, operator: 'DoesNotExist' }] });
    assert.deepEqual(peersOf(repo), []);
    const world = tracePolicy(repo, { srcLabels: ['reserved:world'], dstLabels: pod('x', 'web'), dport: 80 }, ids);
    assert.equal(world.verdict, 'DENIED');
  });

  test('NotIn on the namespace label selects pods of other namespaces only, never reserved identities', () => {
    assert.deepEqual(peersOf(cnp({ matchExpressions: [{ key: NS, operator: 'NotIn', values: ['x'] }] })), [302, 303]);
  });

  test('the endpointSelector of a namespaced policy never selects endpoints of another namespace', () => {
    const repo = new Repository();
    repo.add(parsePolicyDocument(JSON.stringify({ apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'p', namespace: 'x' }, spec: { endpointSelector: { matchExpressions: [{ key: NS, operator: 'DoesNotExist' }] }, ingress: [{}] } })));
    assert.equal(computeEndpointPolicy(repo, pod('y', 'client'), ids).ingressEnforced, false);
    assert.equal(computeEndpointPolicy(repo, ['reserved:world'], ids).ingressEnforced, false);
  });
});

describe('an L7 rule shared by several peers is not widened by an allow-all on one of them', () => {
  test('only the peer with the L4-only allow may send anything', () => {
    const engine = new PolicyEngine({ identities: [[300, ['k8s:app=a']], [301, ['k8s:app=b']], [302, ['k8s:app=c']]] });
    engine.addRules(
      parsePolicyDocument(
        JSON.stringify([
          {
            endpointSelector: { matchLabels: { app: 'web' } },
            ingress: [{ fromEndpoints: [{ matchLabels: { app: 'a' } }, { matchLabels: { app: 'b' } }, { matchLabels: { app: 'c' } }], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }], rules: { http: [{ method: 'GET', path: '/' }] } }] }],
          },
          { endpointSelector: { matchLabels: { app: 'web' } }, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'a' } }] }] },
        ]),
      ),
    );
    const h = engine.endpoint(['k8s:app=web']);
    const post = { method: 'POST', path: '/admin' };
    assert.equal(httpAllowed(h.l7Policy('ingress', 300, Protocol.TCP, 80)!, post), true, 'a is allowed everything by the second rule');
    for (const id of [301, 302]) {
      const l7 = h.l7Policy('ingress', id, Protocol.TCP, 80);
      assert.ok(l7, `peer ${id} is redirected to the proxy`);
      assert.equal(l7.allowAll, false);
      assert.equal(httpAllowed(l7, post), false, `peer ${id} keeps the L7 rule`);
      assert.equal(httpAllowed(l7, { method: 'GET', path: '/' }), true);
    }
  });
});

describe('a broad CIDR deny is not ignored beside a narrower allow', () => {
  const setup = (egress: unknown[], egressDeny: unknown[]): { h: EndpointPolicyHandle; to: (ip: string) => boolean } => {
    const engine = new PolicyEngine();
    engine.addRules(parsePolicyDocument(JSON.stringify({ endpointSelector: { matchLabels: { app: 'web' } }, egress, egressDeny })));
    const h = engine.endpoint(['k8s:app=web']);
    const to = (ip: string): boolean => allowed(h, { direction: 'egress', identity: engine.cidrIdentities.lookup(ip), protocol: Protocol.TCP, port: 443 });
    return { h, to };
  };

  test('deny /8 beats allow /16 for every address in the /16', () => {
    const { to } = setup([{ toCIDR: ['10.1.0.0/16'] }], [{ toCIDR: ['10.0.0.0/8'] }]);
    assert.equal(to('10.1.2.3'), false);
    assert.equal(to('10.9.9.9'), false);
  });

  test('deny /8 beats allow 0.0.0.0/0; the rest of the world stays allowed', () => {
    const { to } = setup([{ toCIDR: ['0.0.0.0/0'] }], [{ toCIDRSet: [{ cidr: '10.0.0.0/8' }] }]);
    assert.equal(to('10.200.0.1'), false);
    assert.equal(to('8.8.8.8'), true);
  });

  test('a deny with an except leaves the except to the allow', () => {
    const { to } = setup([{ toCIDR: ['10.0.0.0/8'] }], [{ toCIDRSet: [{ cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] }] }]);
    assert.equal(to('10.1.0.1'), true);
    assert.equal(to('10.2.0.1'), false);
  });

  test('a deny on a /32 inside an allowed /8 holds', () => {
    const { to } = setup([{ toCIDR: ['10.0.0.0/8'] }], [{ toCIDR: ['10.0.0.1/32'] }]);
    assert.equal(to('10.0.0.1'), false);
    assert.equal(to('10.0.0.2'), true);
  });
});

describe('an L7 rule on a port inside a port range is enforced', () => {
  const setup = (rules: unknown[]): EndpointPolicyHandle => {
    const engine = new PolicyEngine({ identities: [[300, ['k8s:app=client']]] });
    engine.addRules(parsePolicyDocument(JSON.stringify(rules)));
    return engine.endpoint(['k8s:app=web']);
  };
  const client = { matchLabels: { app: 'client' } };

  test('a broader L4 range for the same peer does not bypass the proxy on the L7 port', () => {
    const h = setup([
      { endpointSelector: { matchLabels: { app: 'web' } }, ingress: [{ fromEndpoints: [client], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }], rules: { http: [{ method: 'GET' }] } }] }] },
      { endpointSelector: { matchLabels: { app: 'web' } }, ingress: [{ fromEndpoints: [client], toPorts: [{ ports: [{ port: '70', endPort: 90, protocol: 'TCP' }] }] }] },
      { endpointSelector: { matchLabels: { app: 'web' } }, ingress: [{ fromEntities: ['all'], toPorts: [{ ports: [{ port: '1', endPort: 65535, protocol: 'TCP' }] }] }] },
    ]);
    const v = evaluateEntries(h.entries(), { direction: 'ingress', identity: 300, protocol: Protocol.TCP, port: 80 }, h.ingressEnforced);
    assert.equal(v.entry?.proxyPort, 10001, 'port 80 is redirected to the ingress HTTP proxy');
    const l7 = h.l7Policy('ingress', 300, Protocol.TCP, 80)!;
    assert.equal(httpAllowed(l7, { method: 'DELETE', path: '/' }), false);
    assert.equal(evaluateEntries(h.entries(), { direction: 'ingress', identity: 300, protocol: Protocol.TCP, port: 85 }, h.ingressEnforced).entry?.proxyPort, undefined, 'other ports of the range are plain L4');
  });

  test('L7 rules on a port range redirect every port of it', () => {
    const h = setup([{ endpointSelector: { matchLabels: { app: 'web' } }, ingress: [{ fromEndpoints: [client], toPorts: [{ ports: [{ port: '8000', endPort: 8100, protocol: 'TCP' }], rules: { http: [{ path: '/ok' }] } }] }] }]);
    for (const port of [8000, 8050, 8100]) {
      assert.equal(evaluateEntries(h.entries(), { direction: 'ingress', identity: 300, protocol: Protocol.TCP, port }, true).entry?.proxyPort, 10001, `port ${port}`);
      assert.equal(httpAllowed(h.l7Policy('ingress', 300, Protocol.TCP, port)!, { method: 'GET', path: '/nope' }), false);
    }
  });
});

describe('an ICMP echo does not pass an ingress deny because the reverse egress is allowed', () => {
  const ids = new StaticIdentityLookup([
    [300, pod('x', 'web')],
    [301, pod('x', 'client')],
  ]);
  const repo = new Repository();
  repo.add(
    parsePolicyDocument(
      JSON.stringify({
        apiVersion: 'cilium.io/v2',
        kind: 'CiliumNetworkPolicy',
        metadata: { name: 'p', namespace: 'x' },
        specs: [
          { endpointSelector: { matchLabels: { app: 'web' } }, egress: [{ toEndpoints: [{ matchLabels: { app: 'client' } }], icmps: [{ fields: [{ type: 8 }, { type: 0 }] }] }] },
          { endpointSelector: { matchLabels: { app: 'web' } }, ingressDeny: [{ fromEndpoints: [{ matchLabels: { app: 'client' } }], icmps: [{ fields: [{ type: 'EchoRequest' }] }] }], ingress: [{ fromEndpoints: [{}] }] },
        ],
      }),
    ),
  );
  const web = computeEndpointPolicy(repo, pod('x', 'web'), ids);

  test('the ingress verdict for an echo request comes from ingress entries only', () => {
    const echo: PolicyPacket = { direction: 'ingress', identity: 301, protocol: Protocol.ICMP, port: 8 };
    assert.equal(evaluateEntries(web.entries, echo, web.ingressEnforced).allowed, false);
    assert.equal(evaluateEntries(web.entries, { ...echo, direction: 'egress' }, web.egressEnforced).allowed, true, 'the reverse direction is allowed');
    assert.equal(tracePolicy(repo, { srcLabels: pod('x', 'client'), dstLabels: pod('x', 'web'), dport: 8, protocol: 'ICMP' }, ids).verdict, 'DENIED');
  });

  test('other ICMP types and TCP from the same peer stay allowed', () => {
    assert.equal(evaluateEntries(web.entries, { direction: 'ingress', identity: 301, protocol: Protocol.ICMP, port: 0 }, true).allowed, true);
    assert.equal(evaluateEntries(web.entries, { direction: 'ingress', identity: 301, protocol: Protocol.TCP, port: 8 }, true).allowed, true);
  });

  test('an echo request from the world is not mistaken for a reply', () => {
    assert.equal(evaluateEntries(web.entries, { direction: 'ingress', identity: ReservedIdentity.world, protocol: Protocol.ICMP, port: 8 }, web.ingressEnforced).allowed, false);
  });
});
