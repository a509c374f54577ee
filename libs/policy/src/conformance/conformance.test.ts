// Checks every cell of every conformance fixture: a packet from pod S to pod D is reachable
// when the egress policy of S allows D's identity and the ingress policy of D allows S's,
// both through computeEndpointPolicy + evaluateEntries (and the PolicyEngine agrees).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { parsePolicyDocument } from '../document.js';
import { type EndpointPolicy, computeEndpointPolicy } from '../endpoint-policy.js';
import { StaticIdentityLookup } from '../identity.js';
import { namespaceLabel } from '../k8s-network-policy.js';
import { evaluateEntries } from '../policy-entry.js';
import { PolicyEngine } from '../policy-engine.js';
import { Protocol } from '../protocol.js';
import { Repository } from '../repository.js';

/** One conformance case of cases.yaml (see its header). */
interface ConformanceCase {
  name: string;
  description: string;
  /** Policy documents (YAML), imported together. */
  policies: string[];
  /** 'TCP/80 UDP/81' (or '*') -> 9 lines `<src> <9 cells>`. */
  reachability: Record<string, string>;
}

// Data beside this test, read from the source tree (the fixtures are not compiled into dist).
const casesFile = new URL('../../src/conformance/cases.yaml', import.meta.url);
const ConformanceCases = parseYaml(readFileSync(casesFile, 'utf8')) as ConformanceCase[];

const NAMESPACES = ['x', 'y', 'z'];
const PODS = ['a', 'b', 'c'];
const COMBOS = ['TCP/80', 'TCP/81', 'UDP/80', 'UDP/81', 'SCTP/80', 'SCTP/81'];
const NAMED_PORTS: Record<string, number> = {};
for (const p of [80, 81]) for (const proto of ['tcp', 'udp', 'sctp']) NAMED_PORTS[`serve-${p}-${proto}`] = p;
/** Every pod has the same named ports, so the cluster's named ports are the same map. */
const EGRESS_NAMED_PORTS = Object.fromEntries(Object.entries(NAMED_PORTS).map(([k, v]) => [k, [v]]));

interface Pod {
  name: string;
  id: number;
  labels: string[];
}

const pods: Pod[] = [];
for (const ns of NAMESPACES) {
  for (const p of PODS) {
    pods.push({
      name: `${ns}/${p}`,
      id: 256 + pods.length,
      labels: [`k8s:pod=${p}`, `k8s:io.kubernetes.pod.namespace=${ns}`, namespaceLabel('ns', ns), namespaceLabel('kubernetes.io/metadata.name', ns)],
    });
  }
}

/** Parses a table into [src][dst] booleans, checking the row names and sizes. */
function parseTable(text: string, where: string): boolean[][] {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  assert.equal(lines.length, pods.length, `${where}: ${pods.length} rows expected`);
  return lines.map((line, i) => {
    const [name, cells = ''] = line.split(/\s+/);
    assert.equal(name, pods[i]!.name, `${where}: row ${i} must be ${pods[i]!.name}`);
    assert.match(cells, /^[.X]{9}$/, `${where}: row ${name} must have 9 cells of '.' or 'X'`);
    return [...cells].map((c) => c === '.');
  });
}

/** The table of each port/protocol combination of a case (every combination exactly once). */
function expand(reach: Record<string, string>, where: string): Map<string, boolean[][]> {
  const out = new Map<string, boolean[][]>();
  for (const [key, text] of Object.entries(reach)) {
    if (key === '*') continue;
    for (const c of key.split(/\s+/)) {
      assert.ok(COMBOS.includes(c), `${where}: unknown port/protocol ${c}`);
      assert.ok(!out.has(c), `${where}: ${c} listed twice`);
      out.set(c, parseTable(text, `${where} ${c}`));
    }
  }
  for (const c of COMBOS) {
    if (out.has(c)) continue;
    assert.ok(reach['*'] !== undefined, `${where}: no table for ${c} and no '*'`);
    out.set(c, parseTable(reach['*'], `${where} *`));
  }
  return out;
}

const identities = new StaticIdentityLookup(pods.map((p) => [p.id, p.labels]));

describe('network-policy conformance (x, y, z / a, b, c; 80, 81; TCP, UDP, SCTP)', () => {
  test('there are at least 15 cases with unique names', () => {
    assert.ok(ConformanceCases.length >= 15);
    assert.equal(new Set(ConformanceCases.map((c) => c.name)).size, ConformanceCases.length);
  });

  for (const c of ConformanceCases) {
    test(`${c.name}: ${c.description}`, () => {
      const repo = new Repository();
      for (const [i, doc] of c.policies.entries()) repo.add(parsePolicyDocument(doc, `${c.name}[${i}]`));
      const policies = new Map<string, EndpointPolicy>(pods.map((p) => [p.name, computeEndpointPolicy(repo, p.labels, identities, { namedPorts: NAMED_PORTS, egressNamedPorts: EGRESS_NAMED_PORTS })]));
      // The incremental engine computes the same policies.
      const engine = new PolicyEngine({ repository: repo, identities: pods.map((p): [number, string[]] => [p.id, p.labels]), egressNamedPorts: EGRESS_NAMED_PORTS });
      for (const p of pods) assert.deepEqual(engine.endpoint(p.labels, { namedPorts: NAMED_PORTS }).policy(), policies.get(p.name), `${c.name}: engine policy of ${p.name}`);
      engine.close();
      const mismatches: string[] = [];
      for (const [combo, table] of expand(c.reachability, c.name)) {
        const [protoName, portText] = combo.split('/') as ['TCP' | 'UDP' | 'SCTP', string];
        const protocol = Protocol[protoName];
        const port = Number(portText);
        pods.forEach((src, i) => {
          pods.forEach((dst, j) => {
            const sp = policies.get(src.name)!;
            const dp = policies.get(dst.name)!;
            const egress = evaluateEntries(sp.entries, { direction: 'egress', identity: dst.id, protocol, port }, sp.egressEnforced).allowed;
            const ingress = evaluateEntries(dp.entries, { direction: 'ingress', identity: src.id, protocol, port }, dp.ingressEnforced).allowed;
            const got = egress && ingress;
            if (got !== table[i]![j]) {
              mismatches.push(`${combo} ${src.name} -> ${dst.name}: expected ${table[i]![j] ? 'reachable' : 'blocked'}, got ${got ? 'reachable' : `blocked (${egress ? '' : 'egress'}${!egress && !ingress ? '+' : ''}${ingress ? '' : 'ingress'})`}`);
            }
          });
        });
      }
      assert.deepEqual(mismatches, [], `${c.name}: ${mismatches.length} cells differ`);
    });
  }
});
