// Property: the PolicyEngine's incrementally maintained entries equal computeEndpointPolicy's
// after every step of random sequences of identity, rule and endpoint changes, and the
// diffs it delivers turn the previous entries into the new ones.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { computeEndpointPolicy } from './endpoint-policy.js';
import type { EndpointPolicyHandle, PolicyDiff } from './endpoint-policy-handle.js';
import { type PolicyEntry, compareEntries } from './policy-entry.js';
import { PolicyEngine } from './policy-engine.js';

const KEYS = ['app', 'tier'];
const VALUES = ['a', 'b', 'c'];
const NSKEY = 'k8s:io.kubernetes.pod.namespace';

type Op =
  | { op: 'setIdentity'; id: number; labels: string[] }
  | { op: 'deleteIdentity'; id: number }
  | { op: 'addRule'; name: number; rule: Record<string, unknown> }
  | { op: 'deleteRule'; name: number }
  | { op: 'endpoint'; labels: string[] }
  | { op: 'closeEndpoint'; index: number }
  | { op: 'egressNamedPorts'; ports: Record<string, number[]> };

const arbKey = fc.tuple(fc.constantFrom('', 'k8s:', 'any:'), fc.constantFrom(...KEYS)).map(([s, k]) => s + k);
const arbSel = fc.record(
  {
    matchLabels: fc.dictionary(arbKey, fc.constantFrom(...VALUES), { maxKeys: 2 }),
    matchExpressions: fc.array(
      fc.oneof(
        fc.record({ key: arbKey, operator: fc.constantFrom('In', 'NotIn'), values: fc.uniqueArray(fc.constantFrom(...VALUES), { minLength: 1, maxLength: 2 }) }),
        fc.record({ key: arbKey, operator: fc.constantFrom('Exists', 'DoesNotExist') }),
      ),
      { maxLength: 1 },
    ),
  },
  { requiredKeys: [] },
);
const arbPortsPlain = fc.array(
  fc.record({
    ports: fc.array(
      fc.record({ port: fc.constantFrom('0', '80', '443', 'web'), protocol: fc.constantFrom('TCP', 'UDP', 'ANY') }, { requiredKeys: [] }).map((p) =>
        p.port === '80' ? { ...p, endPort: 90 } : p,
      ),
      { maxLength: 2 },
    ),
  }),
  { maxLength: 1 },
);
// Allow sections may carry L7 rules (HTTP needs TCP / ANY ports; deny sections take none).
const arbPortsL7 = fc
  .tuple(arbPortsPlain, fc.constantFrom<Record<string, unknown> | undefined>(undefined, undefined, { http: [{ method: 'GET' }] }, { dns: [{ matchPattern: '*' }] }))
  .map(([list, rules]) =>
    list.map((pr) => (rules && !(rules.http && pr.ports.some((p) => p.protocol === 'UDP')) ? { ...pr, rules } : pr)),
  );
const arbCIDR = fc.record({ cidr: fc.constantFrom('10.0.0.0/8', '10.1.0.0/16', '0.0.0.0/0'), except: fc.constantFrom([], ['10.1.2.0/24']) });
const arbSection = (dir: 'from' | 'to', deny = false): fc.Arbitrary<Record<string, unknown>> => {
  const arbPorts = deny ? arbPortsPlain : arbPortsL7;
  return fc.oneof(
    fc.record({ [`${dir}Endpoints`]: fc.array(arbSel, { minLength: 1, maxLength: 2 }), toPorts: arbPorts }, { requiredKeys: [`${dir}Endpoints`] }),
    fc.record({ [`${dir}Entities`]: fc.uniqueArray(fc.constantFrom('all', 'world', 'cluster', 'host'), { minLength: 1, maxLength: 2 }), toPorts: arbPorts }, { requiredKeys: [`${dir}Entities`] }),
    fc.record({ [`${dir}CIDRSet`]: fc.array(arbCIDR, { minLength: 1, maxLength: 2 }).map((l) => l.map((c) => (c.cidr === '10.0.0.0/8' && c.except.length ? c : { cidr: c.cidr }))), toPorts: arbPorts }, { requiredKeys: [`${dir}CIDRSet`] }),
    fc.record({ toPorts: arbPorts }, { requiredKeys: [] }),
  );
};
const arbRule = fc.record(
  {
    endpointSelector: arbSel,
    ingress: fc.array(arbSection('from'), { maxLength: 2 }),
    ingressDeny: fc.array(arbSection('from', true), { maxLength: 1 }),
    egress: fc.array(arbSection('to'), { maxLength: 2 }),
    egressDeny: fc.array(arbSection('to', true), { maxLength: 1 }),
    enableDefaultDeny: fc.record({ ingress: fc.boolean(), egress: fc.boolean() }, { requiredKeys: [] }),
  },
  { requiredKeys: ['endpointSelector'] },
);
const arbLabels = fc
  .tuple(fc.dictionary(fc.constantFrom(...KEYS), fc.constantFrom(...VALUES), { maxKeys: 2 }), fc.constantFrom('n1', 'n2', undefined))
  .map(([d, ns]) => [...Object.entries(d).map(([k, v]) => `k8s:${k}=${v}`), ...(ns ? [`${NSKEY}=${ns}`] : [])]);
const arbIdentityLabels: fc.Arbitrary<string[]> = fc.oneof({ weight: 4, arbitrary: arbLabels }, fc.constantFrom<string[]>(['cidr:10.1.2.3/32', 'reserved:world'], ['cidr:10.1.0.0/16', 'reserved:world'], ['cidr:192.168.0.0/16', 'reserved:world']));
const arbOp: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('setIdentity' as const), id: fc.integer({ min: 256, max: 263 }), labels: arbIdentityLabels }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('deleteIdentity' as const), id: fc.integer({ min: 256, max: 263 }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('addRule' as const), name: fc.integer({ min: 0, max: 4 }), rule: arbRule }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('deleteRule' as const), name: fc.integer({ min: 0, max: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('endpoint' as const), labels: arbLabels }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('closeEndpoint' as const), index: fc.nat(4) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('egressNamedPorts' as const), ports: fc.constantFrom<Record<string, number[]>>({}, { web: [8080] }, { web: [8080, 9090] }, { other: [1] }) }) },
);

const id = (e: PolicyEntry): string => JSON.stringify([e.direction, e.identity, e.protocol, e.port, e.endPort ?? e.port, e.deny, e.proxyPort ?? 0]);

function applyDiff(prev: PolicyEntry[], d: PolicyDiff): PolicyEntry[] {
  const m = new Map(prev.map((e) => [id(e), e]));
  for (const e of d.removed) assert.ok(m.delete(id(e)), `diff removes ${id(e)}, which was not there`);
  for (const e of d.added) {
    assert.ok(!m.has(id(e)), `diff adds ${id(e)}, which was there`);
    m.set(id(e), e);
  }
  return [...m.values()].sort(compareEntries);
}

test('incremental endpoint policies equal computeEndpointPolicy after every change', () => {
  fc.assert(
    fc.property(fc.array(arbLabels, { minLength: 1, maxLength: 2 }), fc.array(arbOp, { minLength: 1, maxLength: 25 }), (eps, ops) => {
      const engine = new PolicyEngine();
      const open: Array<{ h: EndpointPolicyHandle; labels: string[]; mirror: PolicyEntry[] }> = [];
      // Endpoints with app=a name port 8080 "web"; the others leave it unresolved.
      const namedPorts = (labels: string[]): Record<string, number> => (labels.includes('k8s:app=a') ? { web: 8080 } : {});
      const openEndpoint = (labels: string[]): void => {
        const h = engine.endpoint(labels, { namedPorts: namedPorts(labels) });
        const slot = { h, labels, mirror: h.entries() };
        h.onChange((d) => {
          slot.mirror = applyDiff(slot.mirror, d);
          assert.equal(d.ingressEnforced, h.ingressEnforced);
        });
        open.push(slot);
      };
      for (const l of eps) openEndpoint(l);
      for (const o of ops) {
        switch (o.op) {
          case 'setIdentity':
            engine.setIdentity(o.id, o.labels);
            break;
          case 'deleteIdentity':
            engine.deleteIdentity(o.id);
            break;
          case 'addRule':
            engine.addRules([{ ...(o.rule as object), labels: [`test:rule=r${o.name}`] } as never], { replaceWithLabels: true });
            break;
          case 'deleteRule':
            engine.deleteRules([`test:rule=r${o.name}`]);
            break;
          case 'endpoint':
            openEndpoint(o.labels);
            break;
          case 'egressNamedPorts':
            engine.setEgressNamedPorts(o.ports);
            break;
          case 'closeEndpoint':
            if (open.length > 0) open.splice(o.index % open.length, 1)[0]!.h.close();
            break;
        }
        for (const { h, labels, mirror } of open) {
          const want = computeEndpointPolicy(engine.repository, labels, engine.identities, { namedPorts: namedPorts(labels), egressNamedPorts: engine.egressNamedPorts });
          const got = h.policy();
          const ctx = `after ${JSON.stringify(o)} ep ${JSON.stringify(labels)}\nrules ${JSON.stringify(engine.repository.get())}\nids ${JSON.stringify(engine.identities.all())}`;
          assert.deepEqual(got, want, ctx);
          assert.deepEqual(mirror, want.entries, `diffs: ${ctx}`);
        }
      }
      engine.close();
      assert.equal(engine.selectorCache.size, 0, 'closing every handle empties the selector cache');
    }),
    { numRuns: 1000, seed: 424242 },
  );
});
