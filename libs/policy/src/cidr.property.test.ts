// Property: with CIDR identities allocated for the rules' prefixes and addresses resolved by
// longest-prefix match, the engine's egress verdict for an address equals a reference that
// reads the rules' CIDRs and excepts directly ("is the address inside, and outside the excepts").
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parsePrefix, parseIPAddr, prefixContains, type Prefix } from '@cilium-ts/netaddr';
import { evaluateEntries } from './policy-entry.js';
import { PolicyEngine } from './policy-engine.js';

const POOL = ['0.0.0.0/0', '10.0.0.0/8', '10.1.0.0/16', '10.1.2.0/24', '10.1.2.3/32', '10.2.0.0/16', '192.168.0.0/16'];
const IPS = ['10.1.2.3', '10.1.2.4', '10.1.3.1', '10.2.0.1', '10.3.0.1', '192.168.1.1', '8.8.8.8'];
const P = (s: string): Prefix => parsePrefix(s) as Prefix;
const contains = (outer: string, inner: string): boolean => prefixContains(P(outer), P(inner));

type CIDRSet = { cidr: string; except?: string[] };
const arbSet: fc.Arbitrary<CIDRSet> = fc.constantFrom(...POOL).chain((cidr) => {
  const inside = POOL.filter((p) => p !== cidr && contains(cidr, p));
  if (inside.length === 0) return fc.constant({ cidr });
  return fc.subarray(inside, { maxLength: Math.min(2, inside.length) }).map((except) => (except.length ? { cidr, except } : { cidr }));
});
const arbRule = fc.record({
  allow: fc.array(fc.array(arbSet, { minLength: 1, maxLength: 2 }), { maxLength: 2 }),
  deny: fc.array(fc.array(arbSet, { minLength: 1, maxLength: 2 }), { maxLength: 1 }),
});

function inSet(ip: string, s: CIDRSet): boolean {
  const a = parseIPAddr(ip)!;
  const host: Prefix = { family: a.family, addr: a.addr, bits: 32 };
  return prefixContains(P(s.cidr), host) && !(s.except ?? []).some((e) => prefixContains(P(e), host));
}

test('CIDR verdicts through LPM identities equal direct address-in-CIDR evaluation', () => {
  fc.assert(
    fc.property(fc.array(arbRule, { minLength: 1, maxLength: 3 }), (rules) => {
      const engine = new PolicyEngine();
      const h = engine.endpoint(['k8s:app=web']);
      engine.addRules(
        rules.map((r) => ({
          endpointSelector: { matchLabels: { app: 'web' } },
          egress: r.allow.map((sets) => ({ toCIDRSet: sets })),
          egressDeny: r.deny.map((sets) => ({ toCIDRSet: sets })),
        })),
      );
      const enforced = rules.some((r) => r.allow.length + r.deny.length > 0);
      assert.equal(h.egressEnforced, enforced);
      for (const ip of IPS) {
        const denied = rules.some((r) => r.deny.some((sets) => sets.some((s) => inSet(ip, s))));
        const allowedByRule = rules.some((r) => r.allow.some((sets) => sets.some((s) => inSet(ip, s))));
        const want = !denied && (allowedByRule || !enforced);
        const identity = engine.cidrIdentities.lookup(ip);
        const got = evaluateEntries(h.entries(), { direction: 'egress', identity, protocol: 6, port: 443 }, h.egressEnforced).allowed;
        assert.equal(got, want, `${ip} (identity ${identity}) rules ${JSON.stringify(rules)}`);
      }
    }),
    { numRuns: 300, seed: 7 },
  );
});
