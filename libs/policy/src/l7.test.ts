import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePolicyDocument } from './document.js';
import { computeEndpointPolicy } from './endpoint-policy.js';
import { proxyListener, proxyPortFor } from './proxy-port.js';
import { dnsAllowed, dnsRuleMatches, httpAllowed, kafkaAllowed } from './l7-match.js';
import { evaluateEntries } from './policy-entry.js';
import { PolicyEngine } from './policy-engine.js';
import { tracePolicy } from './trace.js';
import { PolicyValidationError } from './validation-error.js';

function errorsOf(doc: unknown): string[] {
  try {
    parsePolicyDocument(JSON.stringify(doc), 'test');
  } catch (e) {
    assert.ok(e instanceof PolicyValidationError);
    return e.errors.map((x) => `${x.path}: ${x.message}`);
  }
  assert.fail('expected a validation error');
}

test('proxy ports are fixed per (direction, parser) listener', () => {
  assert.equal(proxyPortFor('ingress', 'http'), 10001);
  assert.equal(proxyPortFor('egress', 'dns'), 10004);
  assert.deepEqual(proxyListener(10006), { direction: 'egress', parser: 'kafka' });
  assert.equal(proxyListener(80), undefined);
});

test('L7 rules are validated with their paths', () => {
  const errs = errorsOf({
    endpointSelector: {},
    ingress: [
      { toPorts: [{ ports: [{ port: '80', protocol: 'UDP' }], rules: { http: [{ method: 'GET(', headers: ['X-Ok: 1', 'bad header'] }] } }] },
      { toPorts: [{ ports: [{ port: '53' }], rules: { dns: [{ matchName: 'a.com', matchPattern: '*.a.com' }, { matchPattern: 'a b' }], http: [] } }] },
      { toPorts: [{ ports: [{ port: '9092' }], rules: { kafka: [{ role: 'produce', apiKey: 'fetch' }, { topic: 'bad topic!' }, { role: 'read' }] } }] },
    ],
    egressDeny: [{ toPorts: [{ ports: [{ port: '80' }], rules: { http: [{}] } }] }],
  });
  assert.deepEqual(errs, [
    'ingress[0].toPorts[0].rules.http[0].method: "GET(" is not a valid regular expression (RE2 syntax, as Cilium\'s; no backreferences or lookaround): error parsing regexp: missing closing ): `GET(`',
    'ingress[0].toPorts[0].rules.http[0].headers[1]: string "bad header" is not a header ("Name" or "Name: value")',
    'ingress[1].toPorts[0].rules: sets http and dns; one port rule takes one L7 parser, write separate toPorts entries',
    'ingress[2].toPorts[0].rules.kafka[0]: role and apiKey cannot be combined; use one of them',
    'ingress[2].toPorts[0].rules.kafka[1].topic: "bad topic!" is not a Kafka topic name (1-255 of [a-zA-Z0-9._-])',
    'ingress[2].toPorts[0].rules.kafka[2].role: "read" is not a Kafka role (produce or consume)',
    'egressDeny[0].toPorts[0].rules: L7 rules cannot be used in deny rules (as in Cilium); deny the port, or allow it with L7 rules in an allow rule',
  ]);
  assert.deepEqual(errorsOf({ endpointSelector: {}, ingress: [{ toPorts: [{ ports: [{ port: '80', protocol: 'UDP' }], rules: { http: [{}] } }] }] }), [
    'ingress[0].toPorts[0].ports[0].protocol: UDP cannot carry HTTP rules; use TCP (or ANY, which then opens TCP only)',
  ]);
  assert.deepEqual(errorsOf({ endpointSelector: {}, egress: [{ toPorts: [{ rules: { dns: [{ matchName: 'x y' }] } }] }] }), [
    'egress[0].toPorts[0].rules.dns[0].matchName: "x y" is not a DNS name (letters, digits, \'-\', \'_\' and \'.\')',
  ]);
});

const doc = {
  endpointSelector: { matchLabels: { app: 'web' } },
  ingress: [
    { fromEndpoints: [{ matchLabels: { app: 'a' } }, { matchLabels: { app: 'b' } }], toPorts: [{ ports: [{ port: '80' }], rules: { http: [{ method: 'GET', path: '/public/.*' }] } }] },
    { fromEndpoints: [{ matchLabels: { app: 'a' } }], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }] }] },
  ],
  egress: [{ toEntities: ['all'], toPorts: [{ ports: [{ port: '53', protocol: 'ANY' }], rules: { dns: [{ matchPattern: '*.example.com' }] } }] }],
};

test('L7 rules become proxy redirects; the rule set is per peer', () => {
  const engine = new PolicyEngine({ identities: [[300, ['k8s:app=a']], [301, ['k8s:app=b']]] });
  engine.addRules(parsePolicyDocument(JSON.stringify(doc)));
  const h = engine.endpoint(['k8s:app=web']);
  assert.deepEqual(h.policy(), computeEndpointPolicy(engine.repository, ['k8s:app=web'], engine.identities));
  assert.deepEqual(
    h.entries().filter((e) => e.direction === 'ingress'),
    [
      { direction: 'ingress', identity: 300, protocol: 6, port: 80, deny: false, proxyPort: 10001 },
      { direction: 'ingress', identity: 301, protocol: 6, port: 80, deny: false, proxyPort: 10001 },
    ],
    'HTTP under ANY opens TCP only',
  );
  assert.deepEqual(
    h.entries().filter((e) => e.direction === 'egress'),
    [
      { direction: 'egress', identity: 0, protocol: 6, port: 53, deny: false, proxyPort: 10004 },
      { direction: 'egress', identity: 0, protocol: 17, port: 53, deny: false, proxyPort: 10004 },
    ],
  );
  const fromA = h.l7Policy('ingress', 300, 6, 80)!;
  const fromB = h.l7Policy('ingress', 301, 6, 80)!;
  assert.equal(fromA.allowAll, true, 'a also has an L4-only allow on port 80');
  assert.equal(fromB.allowAll, false, 'b keeps its L7 rule');
  assert.equal(httpAllowed(fromB, { method: 'GET', path: '/public/x' }), true);
  assert.equal(httpAllowed(fromB, { method: 'POST', path: '/public/x' }), false);
  assert.equal(httpAllowed(fromB, { method: 'GET', path: '/private' }), false);
  assert.equal(h.l7Policy('ingress', 302, 6, 80), undefined, 'denied traffic has no L7 policy');
  const dns = h.l7Policy('egress', 2, 17, 53)!;
  assert.equal(dnsAllowed(dns, 'api.example.com.'), true);
  assert.equal(dnsAllowed(dns, 'example.org'), false);
  assert.equal(evaluateEntries(h.entries(), { direction: 'egress', identity: 2, protocol: 132, port: 53 }, h.egressEnforced).allowed, false, 'DNS under ANY opens TCP and UDP');
});

test('trace names the L7 parser and proxy port of a section, and says the traffic is dropped while the proxy is not ready', () => {
  const engine = new PolicyEngine({ identities: [[300, ['k8s:app=a']]] });
  engine.addRules(parsePolicyDocument(JSON.stringify(doc)));
  const t = tracePolicy(engine.repository, { srcLabels: ['k8s:app=b'], dstLabels: ['k8s:app=web'], dport: 80 }, engine.identities);
  assert.equal(t.verdict, 'DENIED');
  assert.equal(t.ingress.dropReason, 165);
  assert.ok(t.lines.some((l) => l.includes('on 80/TCP (L7 http, proxy 10001): redirects to L7 proxy 10001, which is not ready: dropped (fail-closed)')), t.lines.join('\n'));
});

test('L7 matchers', () => {
  assert.equal(dnsRuleMatches({ matchPattern: '*' }, 'anything.at.all'), true);
  assert.equal(dnsRuleMatches({ matchPattern: '*.a.com' }, 'x.y.a.com'), false, '* stays within one label');
  assert.equal(dnsRuleMatches({ matchName: 'A.com.' }, 'a.com'), true);
  const kafka = { proxyPort: 10005, entry: { direction: 'ingress' as const, identity: 0, protocol: 6, port: 9092, deny: false }, allowAll: false, rules: { kafka: [{ role: 'produce' as const, topic: 'orders' }] } };
  assert.equal(kafkaAllowed(kafka, { apiKey: 'produce', topic: 'orders' }), true);
  assert.equal(kafkaAllowed(kafka, { apiKey: 'fetch', topic: 'orders' }), false);
  assert.equal(kafkaAllowed(kafka, { apiKey: 'produce', topic: 'payments' }), false);
  const http = { ...kafka, rules: { http: [{ host: 'api\\.example\\.com', headers: ['X-Token: s3cret', 'X-Trace'] }] } };
  assert.equal(httpAllowed(http, { method: 'GET', path: '/', host: 'API.example.com', headers: { 'x-token': 's3cret', 'X-Trace': '1' } }), true);
  assert.equal(httpAllowed(http, { method: 'GET', path: '/', host: 'api.example.com', headers: { 'x-token': 'no', 'X-Trace': '1' } }), false);
  const paths = { ...kafka, rules: { http: [{ method: 'GET', path: '/public(/.*)?' }] } };
  assert.equal(httpAllowed(paths, { method: 'GET', path: '/public/a' }), true);
  assert.equal(httpAllowed(paths, { method: 'GET', path: '/x/public' }), false, 'anchored at the start');
  assert.equal(httpAllowed(paths, { method: 'GET', path: '/publicity' }), false, 'anchored at the end');
  assert.equal(httpAllowed(paths, { method: 'GETX', path: '/public' }), false);
});

test('rule regexes are RE2: backtracking constructs are refused at import, and a catastrophic pattern matches in linear time', () => {
  const errs = errorsOf({
    endpointSelector: {},
    ingress: [{ toPorts: [{ ports: [{ port: '80' }], rules: { http: [{ path: '(a)\\1' }, { path: '/(?=admin)' }] } }] }],
  });
  assert.equal(errs.length, 2);
  assert.match(errs[0]!, /^ingress\[0\]\.toPorts\[0\]\.rules\.http\[0\]\.path: .*invalid escape sequence/);
  assert.match(errs[1]!, /^ingress\[0\]\.toPorts\[0\]\.rules\.http\[1\]\.path: .*Perl syntax/);
  // (a+)+$ backtracks exponentially in a backtracking engine; RE2 answers at once.
  const evil = { proxyPort: 10001, entry: { direction: 'ingress' as const, identity: 0, protocol: 6, port: 80, deny: false }, allowAll: false, rules: { http: [{ path: '(a+)+' }] } };
  assert.equal(httpAllowed(evil, { method: 'GET', path: `${'a'.repeat(100_000)}!` }), false);
  assert.equal(httpAllowed(evil, { method: 'GET', path: 'aaaa' }), true);
});

test('an L7 redirect wins over a plain L4 allow of the same traffic, incrementally as in a full compute; a deny still wins', () => {
  const rules = {
    endpointSelector: { matchLabels: { app: 'web' } },
    ingress: [
      { fromEndpoints: [{}], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }], rules: { http: [{ method: 'GET', path: '/public' }] } }] },
      { fromEndpoints: [{ matchLabels: { app: 'a' } }], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }, { port: '81', protocol: 'TCP' }] }] },
      { fromEndpoints: [{ matchLabels: { app: 'b' } }], toPorts: [{ ports: [{ port: '0', protocol: 'TCP' }] }] },
      { fromEndpoints: [{ matchLabels: { app: 'c' } }] },
    ],
    ingressDeny: [{ fromEndpoints: [{ matchLabels: { app: 'c' } }], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }] }] }],
  };
  const engine = new PolicyEngine({ identities: [[300, ['k8s:app=a']]] });
  engine.addRules(parsePolicyDocument(JSON.stringify(rules)));
  const h = engine.endpoint(['k8s:app=web']);
  engine.setIdentity(301, ['k8s:app=b']);
  engine.setIdentity(302, ['k8s:app=c']);
  assert.deepEqual(h.policy(), computeEndpointPolicy(engine.repository, ['k8s:app=web'], engine.identities));
  const verdict = (identity: number, port: number) => {
    const v = evaluateEntries(h.entries(), { direction: 'ingress', identity, protocol: 6, port }, true);
    return v.allowed ? (v.entry?.proxyPort ?? 'L4') : 'denied';
  };
  assert.equal(verdict(300, 80), 10001, 'a: the L7 rule on 80 applies although a also has an L4 allow on 80');
  assert.equal(verdict(300, 81), 'L4');
  assert.equal(verdict(301, 80), 10001, 'b: its all-TCP-ports allow does not bypass the L7 rule on 80');
  assert.equal(verdict(301, 443), 'L4');
  assert.equal(verdict(302, 80), 'denied', 'c: the deny beats both');
  assert.equal(verdict(302, 22), 'L4');
  assert.equal(verdict(999, 80), 10001);
  assert.ok(h.entries().some((e) => e.identity === 301 && e.port === 80 && e.proxyPort === 10001));
  assert.equal(h.l7Policy('ingress', 300, 6, 80)?.allowAll, true, 'a keeps L7 allow-all on 80 (its own L4 allow of the port)');
  assert.equal(h.l7Policy('ingress', 301, 6, 80)?.allowAll, false, 'b gets the L7 rules of port 80');
  engine.deleteAllRules();
  assert.deepEqual(h.entries(), []);
});
