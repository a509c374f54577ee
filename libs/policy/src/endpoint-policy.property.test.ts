// Property: computeEndpointPolicy + evaluateEntries agree with a tiny, obviously-correct
// evaluator that reads the rules directly, on random labels, rules, identities and packets.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parsePolicyDocument } from './document.js';
import { computeEndpointPolicy } from './endpoint-policy.js';
import { StaticIdentityLookup } from './identity.js';
import { evaluateEntries } from './policy-entry.js';
import { Repository } from './repository.js';
import { tracePolicy } from './trace.js';

type Sel = { matchLabels?: Record<string, string>; matchExpressions?: Array<{ key: string; operator: string; values?: string[] }> };
type Port = { port?: string; endPort?: number; protocol?: string };
type Section = { peers?: Sel[]; entities?: string[]; toPorts?: Array<{ ports: Port[] }> };
type RawRule = { endpointSelector: Sel; ingress?: Section[]; egress?: Section[]; ingressDeny?: Section[]; egressDeny?: Section[]; enableDefaultDeny?: { ingress?: boolean; egress?: boolean } };
type Doc = { ns?: string; rule: RawRule };
type Packet = { dir: 'ingress' | 'egress'; peer: number; proto: number; port: number };

const NSKEY = 'io.kubernetes.pod.namespace';
const KEYS = ['app', 'tier'];
const VALUES = ['a', 'b', 'c'];
const ENTITIES = ['all', 'world', 'cluster', 'host', 'remote-node', 'health'];
const RESERVED: Record<number, string> = { 1: 'host', 2: 'world', 4: 'health', 6: 'remote-node', 9: 'world-ipv4' };

// ---- generators ----
const arbKey = fc.tuple(fc.constantFrom('', 'k8s:', 'any:', 'container:'), fc.constantFrom(...KEYS)).map(([s, k]) => s + k);
const arbSel: fc.Arbitrary<Sel> = fc.record(
  {
    matchLabels: fc.dictionary(arbKey, fc.constantFrom(...VALUES), { maxKeys: 2 }),
    matchExpressions: fc.array(
      fc.oneof(
        fc.record({ key: arbKey, operator: fc.constantFrom('In', 'NotIn'), values: fc.uniqueArray(fc.constantFrom(...VALUES), { minLength: 1, maxLength: 2 }) }),
        fc.record({ key: arbKey, operator: fc.constantFrom('Exists', 'DoesNotExist') }),
      ),
      { maxLength: 2 },
    ),
  },
  { requiredKeys: [] },
);
const arbPort: fc.Arbitrary<Port> = fc
  .record(
    { port: fc.constantFrom('53', '80', '443', '1000'), endPort: fc.constantFrom(80, 443, 2000), protocol: fc.constantFrom('TCP', 'UDP', 'SCTP', 'ANY') },
    { requiredKeys: [] },
  )
  .map((p) => {
    if (p.endPort !== undefined && (p.port === undefined || Number(p.port) > p.endPort)) delete p.endPort;
    return p;
  });
const arbSection: fc.Arbitrary<Section> = fc.oneof(
  fc.record({ peers: fc.array(arbSel, { minLength: 1, maxLength: 2 }), toPorts: fc.array(fc.record({ ports: fc.array(arbPort, { maxLength: 2 }) }), { maxLength: 2 }) }, { requiredKeys: ['peers'] }),
  fc.record({ entities: fc.uniqueArray(fc.constantFrom(...ENTITIES), { minLength: 1, maxLength: 2 }), toPorts: fc.array(fc.record({ ports: fc.array(arbPort, { maxLength: 2 }) }), { maxLength: 2 }) }, { requiredKeys: ['entities'] }),
  fc.record({ toPorts: fc.array(fc.record({ ports: fc.array(arbPort, { maxLength: 2 }) }), { maxLength: 2 }) }, { requiredKeys: [] }),
);
const arbSections = fc.array(arbSection, { maxLength: 2 });
const arbRule: fc.Arbitrary<RawRule> = fc.record(
  {
    endpointSelector: arbSel,
    ingress: arbSections,
    egress: arbSections,
    ingressDeny: arbSections,
    egressDeny: arbSections,
    enableDefaultDeny: fc.record({ ingress: fc.boolean(), egress: fc.boolean() }, { requiredKeys: [] }),
  },
  { requiredKeys: ['endpointSelector'] },
);
const arbDoc: fc.Arbitrary<Doc> = fc.record({ ns: fc.constantFrom('n1', 'n2'), rule: arbRule }, { requiredKeys: ['rule'] });
const arbLabels = fc
  .tuple(
    fc.dictionary(fc.constantFrom(...KEYS), fc.constantFrom(...VALUES), { maxKeys: 2 }),
    fc.constantFrom('k8s', 'container'),
    fc.constantFrom('n1', 'n2', undefined),
  )
  .map(([d, src, ns]) => [...Object.entries(d).map(([k, v]) => `${src}:${k}=${v}`), ...(ns ? [`k8s:${NSKEY}=${ns}`] : [])]);
const arbPacket = (peers: number[]): fc.Arbitrary<Packet> =>
  fc.record({ dir: fc.constantFrom('ingress' as const, 'egress' as const), peer: fc.constantFrom(...peers), proto: fc.constantFrom(6, 17, 132, 1), port: fc.constantFrom(53, 80, 81, 443, 1000, 1500, 3000) });

// ---- the reference evaluator: reads rules directly, one packet at a time ----
function refHas(labels: string[], key: string): string[] {
  const [src, k] = key.includes(':') ? key.split(':') : ['any', key];
  const out: string[] = [];
  for (const l of labels) {
    const [head, value = ''] = l.split('=');
    const [lsrc, lkey] = head!.split(':');
    if (lkey === k && (src === 'any' || src === lsrc)) out.push(value);
  }
  return out;
}
function refSel(sel: Sel, labels: string[]): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (!refHas(labels, k).includes(v)) return false;
  for (const e of sel.matchExpressions ?? []) {
    const vals = refHas(labels, e.key);
    if (e.operator === 'In' && !vals.some((v) => e.values!.includes(v))) return false;
    if (e.operator === 'NotIn' && vals.some((v) => e.values!.includes(v))) return false;
    if (e.operator === 'Exists' && vals.length === 0) return false;
    if (e.operator === 'DoesNotExist' && vals.length > 0) return false;
  }
  return true;
}
function refEntity(e: string, id: number): boolean {
  const world = id === 2 || id === 9;
  if (e === 'all') return true;
  if (e === 'world') return world;
  if (e === 'cluster') return !world;
  return RESERVED[id] === e;
}
function refSection(s: Section, ns: string | undefined, peer: number, peerLabels: string[], p: Packet): boolean {
  const inNs = (): boolean => ns === undefined || peerLabels.includes(`k8s:${NSKEY}=${ns}`);
  let peerOk: boolean;
  if (s.peers?.length) peerOk = s.peers.some((sel) => refSel(sel, peerLabels) && inNs());
  else if (s.entities?.length) peerOk = s.entities.some((e) => refEntity(e, peer));
  else peerOk = (s.toPorts?.length ?? 0) > 0;
  if (!peerOk) return false;
  if (!s.toPorts?.length) return true;
  return s.toPorts.some((tp) =>
    (tp.ports.length ? tp.ports : [{}]).some((pp: Port) => {
      const protoOk = pp.protocol === undefined || pp.protocol === 'ANY' ? [6, 17, 132].includes(p.proto) : { TCP: 6, UDP: 17, SCTP: 132 }[pp.protocol] === p.proto;
      const lo = Number(pp.port ?? 0);
      const portOk = lo === 0 || (p.port >= lo && p.port <= (pp.endPort ?? lo));
      return protoOk && portOk;
    }),
  );
}
function refAllowed(docs: Doc[], ep: string[], ids: Map<number, string[]>, p: Packet): boolean {
  const selected = docs.filter((d) => refSel(d.rule.endpointSelector, ep) && (d.ns === undefined || ep.includes(`k8s:${NSKEY}=${d.ns}`)));
  const deny = p.dir === 'ingress' ? 'ingressDeny' : 'egressDeny';
  const enforced = selected.some((d) => ((d.rule[p.dir]?.length ?? 0) > 0 || (d.rule[deny]?.length ?? 0) > 0) && d.rule.enableDefaultDeny?.[p.dir] !== false);
  const peerLabels = ids.get(p.peer)!;
  if (selected.some((d) => (d.rule[deny] ?? []).some((s) => refSection(s, d.ns, p.peer, peerLabels, p)))) return false;
  if (selected.some((d) => (d.rule[p.dir] ?? []).some((s) => refSection(s, d.ns, p.peer, peerLabels, p)))) return true;
  return !enforced;
}

// ---- rendering the generated rules as a policy document ----
function toSpec(r: RawRule): unknown {
  const sec = (s: Section, dir: 'ingress' | 'egress'): unknown => {
    const o: Record<string, unknown> = {};
    if (s.peers) o[dir === 'ingress' ? 'fromEndpoints' : 'toEndpoints'] = s.peers;
    if (s.entities) o[dir === 'ingress' ? 'fromEntities' : 'toEntities'] = s.entities;
    if (s.toPorts) o.toPorts = s.toPorts;
    return o;
  };
  const out: Record<string, unknown> = { endpointSelector: r.endpointSelector };
  for (const f of ['ingress', 'ingressDeny', 'egress', 'egressDeny'] as const) {
    if (r[f]) out[f] = r[f]!.map((s) => sec(s, f.startsWith('ingress') ? 'ingress' : 'egress'));
  }
  if (r.enableDefaultDeny) out.enableDefaultDeny = r.enableDefaultDeny;
  return out;
}
function toDocument(docs: Doc[]): string {
  return JSON.stringify(
    docs.map((d, i) =>
      d.ns === undefined
        ? toSpec(d.rule)
        : { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: `p${i}`, namespace: d.ns }, spec: toSpec(d.rule) },
    ),
  );
}

test('computed entries agree with the reference evaluator', () => {
  const scenario = fc
    .record({
      docs: fc.array(arbDoc, { minLength: 1, maxLength: 4 }),
      ep: arbLabels,
      pods: fc.array(arbLabels, { minLength: 1, maxLength: 5 }),
    })
    .chain((s) => {
      const peers = [1, 2, 4, 6, 9, ...s.pods.map((_, i) => 256 + i)];
      return fc.record({ s: fc.constant(s), packets: fc.array(arbPacket(peers), { minLength: 1, maxLength: 12 }) });
    });
  fc.assert(
    fc.property(scenario, ({ s, packets }) => {
      const ids = new Map<number, string[]>(Object.entries(RESERVED).map(([id, n]) => [Number(id), [`reserved:${n}`]]));
      s.pods.forEach((l, i) => ids.set(256 + i, l));
      const repo = new Repository();
      repo.add(parsePolicyDocument(toDocument(s.docs), 'property'));
      const lookup = new StaticIdentityLookup(ids);
      const pol = computeEndpointPolicy(repo, s.ep, lookup);
      for (const p of packets) {
        const enforced = p.dir === 'ingress' ? pol.ingressEnforced : pol.egressEnforced;
        const got = evaluateEntries(pol.entries, { direction: p.dir, identity: p.peer, protocol: p.proto, port: p.port }, enforced).allowed;
        const want = refAllowed(s.docs, s.ep, ids, p);
        // tracePolicy decides the same, direction by direction.
        const peerLabels = ids.get(p.peer)!;
        const req = p.dir === 'ingress' ? { srcLabels: peerLabels, dstLabels: s.ep } : { srcLabels: s.ep, dstLabels: peerLabels };
        const traced = tracePolicy(repo, { ...req, dport: p.port, protocol: p.proto }, lookup)[p.dir].verdict === 'ALLOWED';
        assert.equal(traced, want, `trace: packet ${JSON.stringify(p)} ep ${JSON.stringify(s.ep)}\ndoc ${toDocument(s.docs)}`);
        assert.equal(got, want, `packet ${JSON.stringify(p)} ep ${JSON.stringify(s.ep)}\ndoc ${toDocument(s.docs)}\nentries ${JSON.stringify(pol.entries)}`);
      }
    }),
    { numRuns: 400, seed: 20261121 },
  );
});
