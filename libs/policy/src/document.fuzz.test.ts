// Fuzz-ish: random and mutated documents must either parse into rules the repository
// accepts and the compiler handles, or throw PolicyValidationError, never anything else.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { parsePolicyDocument } from './document.js';
import { computeEndpointPolicy } from './endpoint-policy.js';
import { StaticIdentityLookup } from './identity.js';
import { Repository } from './repository.js';
import { tracePolicy } from './trace.js';
import { PolicyValidationError } from './validation-error.js';

const SEEDS: unknown[] = [
  {
    endpointSelector: { matchLabels: { app: 'web' } },
    ingress: [
      { fromEndpoints: [{}], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }], rules: { http: [{ method: 'GET', path: '/a/.*', host: 'x\\.com', headers: ['X-A: 1', 'X-B'] }] } }] },
      { toPorts: [{ ports: [{ port: '9092' }], rules: { kafka: [{ role: 'produce', topic: 't' }, { apiKey: 'fetch', apiVersion: '1', clientID: 'c' }] } }] },
    ],
    egress: [{ toEntities: ['all'], toPorts: [{ ports: [{ port: '53', protocol: 'ANY' }], rules: { dns: [{ matchName: 'a.com' }, { matchPattern: '*.b.com' }] } }] }],
  },
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'np', namespace: 'x' },
    spec: {
      podSelector: { matchLabels: { pod: 'a' } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } }, podSelector: { matchExpressions: [{ key: 'pod', operator: 'NotIn', values: ['b'] }] } }, { ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }], ports: [{ port: 80, endPort: 81 }, { protocol: 'UDP', port: 'dns' }] }],
      egress: [{ to: [{ podSelector: {} }] }, {}],
    },
  },
  {
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumNetworkPolicy',
    metadata: { name: 'web', namespace: 'prod' },
    specs: [
      {
        endpointSelector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }] },
        ingress: [
          { fromEndpoints: [{ matchLabels: { 'k8s:app': 'client' } }], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }, { port: '9000', endPort: 9100 }] }] },
          { fromEntities: ['world', 'host'] },
          { icmps: [{ fields: [{ type: 8 }, { type: 'EchoRequest', family: 'IPv6' }] }] },
        ],
        egressDeny: [{ toCIDRSet: [{ cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] }] }],
        enableDefaultDeny: { egress: false },
        labels: ['k8s:team=a'],
      },
    ],
  },
  {
    kind: 'List',
    apiVersion: 'v1',
    items: [
      {
        apiVersion: 'cilium.io/v2',
        kind: 'CiliumClusterwideNetworkPolicy',
        metadata: { name: 'all' },
        spec: { endpointSelector: {}, egress: [{ toCIDR: ['0.0.0.0/0', '2001:db8::/32'] }, { toPorts: [{ ports: [{ port: 'dns', protocol: 'UDP' }] }] }] },
      },
    ],
  },
  [{ endpointSelector: { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, ingressDeny: [{ fromEndpoints: [{}], toPorts: [{ ports: [{ port: 22 }] }] }] }],
];

type Json = unknown;
const arbJson = fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>;

/** Applies a mutation at a random place of a JSON value. */
function mutate(v: Json, path: number[], action: number, repl: Json): Json {
  if (path.length === 0 || typeof v !== 'object' || v === null) {
    switch (action % 4) {
      case 0:
        return repl;
      case 1:
        return Array.isArray(v) ? [...v, repl] : typeof v === 'object' && v !== null ? { ...v, unexpected: repl } : [v];
      case 2:
        return typeof v === 'string' ? v.slice(0, Math.max(0, v.length - 2)) + 'x' : typeof v === 'number' ? -v - 1 : null;
      default:
        return Array.isArray(v) ? v.slice(1) : typeof v === 'object' && v !== null ? Object.fromEntries(Object.entries(v).slice(1)) : String(v);
    }
  }
  const [head, ...rest] = path;
  if (Array.isArray(v)) {
    if (v.length === 0) return mutate(v, [], action, repl);
    const i = head! % v.length;
    return v.map((x, j) => (j === i ? mutate(x, rest, action, repl) : x));
  }
  const keys = Object.keys(v as object);
  if (keys.length === 0) return mutate(v, [], action, repl);
  const k = keys[head! % keys.length]!;
  return { ...(v as Record<string, Json>), [k]: mutate((v as Record<string, Json>)[k], rest, action, repl) };
}

const ids = new StaticIdentityLookup([
  [300, ['k8s:app=web', 'k8s:io.kubernetes.pod.namespace=prod', 'k8s:tier=a']],
  [301, ['k8s:app=client', 'k8s:io.kubernetes.pod.namespace=prod']],
  [16777217, ['cidr:10.2.0.0/16', 'reserved:world-ipv4']],
]);

/** Parses `text`: true when accepted, false after a PolicyValidationError; anything else fails the test. */
function tryParse(text: string): boolean {
  let rules;
  try {
    rules = parsePolicyDocument(text, 'fuzz');
  } catch (e) {
    if (!(e instanceof PolicyValidationError)) throw new Error(`unexpected ${String(e)} for ${JSON.stringify(text).slice(0, 500)}`);
    assert.ok(e.errors.length > 0);
    for (const x of e.errors) assert.equal(typeof x.path, 'string');
    return false;
  }
  const repo = new Repository();
  repo.add(rules); // what parse returns, the repository accepts
  computeEndpointPolicy(repo, ['k8s:app=web', 'k8s:io.kubernetes.pod.namespace=prod', 'k8s:tier=a'], ids);
  tracePolicy(repo, { srcLabels: ['k8s:app=client', 'k8s:io.kubernetes.pod.namespace=prod'], dstLabels: ['k8s:app=web', 'k8s:io.kubernetes.pod.namespace=prod', 'k8s:tier=a'], dport: 80 }, ids);
  return true;
}

test('seed documents are valid', () => {
  for (const s of SEEDS) assert.ok(parsePolicyDocument(JSON.stringify(s)).length > 0);
});

test('structurally mutated documents: only PolicyValidationError', () => {
  const outcomes = { accepted: 0, rejected: 0 };
  fc.assert(
    fc.property(
      fc.constantFrom(...SEEDS),
      fc.array(fc.tuple(fc.array(fc.nat(20), { maxLength: 8 }), fc.nat(), arbJson), { minLength: 1, maxLength: 3 }),
      fc.boolean(),
      (seed, muts, yaml) => {
        let doc: Json = seed;
        for (const [path, action, repl] of muts) doc = mutate(doc, path, action, repl);
        outcomes[tryParse(yaml ? stringify(doc) : JSON.stringify(doc)) ? 'accepted' : 'rejected']++;
      },
    ),
    { numRuns: 600, seed: 7 },
  );
  // Both paths must be exercised for the test to mean anything.
  assert.ok(outcomes.accepted > 20 && outcomes.rejected > 20, JSON.stringify(outcomes));
});

test('random JSON values and random text: only PolicyValidationError', () => {
  fc.assert(
    fc.property(arbJson, (v) => {
      tryParse(JSON.stringify(v) ?? 'null');
    }),
    { numRuns: 300, seed: 11 },
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (s) => {
      tryParse(s);
    }),
    { numRuns: 300, seed: 13 },
  );
});

test('text-level corruption of valid YAML: only PolicyValidationError', () => {
  const texts = SEEDS.map((s) => stringify(s));
  fc.assert(
    fc.property(fc.constantFrom(...texts), fc.nat(), fc.nat(40), fc.string({ maxLength: 6 }), (text, at, cut, insert) => {
      const i = at % (text.length + 1);
      tryParse(text.slice(0, i) + insert + text.slice(i + cut));
    }),
    { numRuns: 500, seed: 17 },
  );
});
