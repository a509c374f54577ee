import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CompiledSection, compileSections } from './compiled-section.js';
import { LabelSet } from './label-set.js';
import type { Rule, RuleSection } from './rule.js';

const rule: Rule = { endpointSelector: {} };
const sec = (s: RuleSection, dir: 'ingress' | 'egress' = 'ingress'): CompiledSection => new CompiledSection(rule, 0, dir, false, s, { http: 8080 });

test('peers: wildcard forms, selectors, entities, CIDRs, and nothing', () => {
  assert.equal(sec({ endpoints: [{}] }).wildcard, true);
  assert.equal(sec({ entities: ['all'] }).wildcard, true);
  assert.equal(sec({ toPorts: [{ ports: [{ port: '80' }] }] }).wildcard, true);
  const none = sec({});
  assert.equal(none.wildcard, false);
  assert.deepEqual(none.ports, []);
  assert.equal(none.selectsPeer(300, new LabelSet(['k8s:a=b'])), false);
  const c = sec({ cidrs: [{ cidr: '10.0.0.0/8', except: ['10.9.0.0/16'] }] });
  assert.equal(c.selectsPeer(1 << 24, new LabelSet(['cidr:10.1.0.0/16'])), true);
  assert.equal(c.selectsPeer(1 << 24, new LabelSet(['cidr:10.9.1.0/24'])), false);
  assert.equal(c.selectsPeer(2, new LabelSet(['reserved:world'])), false);
  assert.equal(sec({ cidrs: [{ cidr: '::/0' }] }).selectsPeer(10, new LabelSet(['reserved:world-ipv6'])), true);
  assert.equal(sec({ cidrs: [{ cidr: '::/0' }] }).selectsPeer(9, new LabelSet(['reserved:world-ipv4'])), false);
});

test('ports: L3-only, ANY expansion, ranges, named ports, ICMP', () => {
  assert.deepEqual(sec({ endpoints: [{}] }).ports, [{ protocol: 0, port: 0 }]);
  assert.deepEqual(sec({ toPorts: [{ ports: [{ port: '53' }] }] }).ports, [
    { protocol: 6, port: 53 },
    { protocol: 17, port: 53 },
    { protocol: 132, port: 53 },
  ]);
  assert.deepEqual(sec({ toPorts: [{}] }).ports.map((p) => p.protocol), [6, 17, 132]);
  assert.deepEqual(sec({ toPorts: [{ ports: [{ port: '1000', endPort: 2000, protocol: 'UDP' }] }] }).ports, [{ protocol: 17, port: 1000, endPort: 2000 }]);
  const named = sec({ toPorts: [{ ports: [{ port: 'http', protocol: 'TCP' }, { port: 'grpc', protocol: 'TCP' }] }] });
  assert.deepEqual(named.ports, [{ protocol: 6, port: 8080 }]);
  assert.deepEqual(named.unresolvedPorts, ['grpc']);
  assert.deepEqual(sec({ toPorts: [{ ports: [{ port: 'http' }] }] }, 'egress').ports, []);
  assert.deepEqual(sec({ icmps: [{ fields: [{ type: 8 }, { type: 128, family: 'IPv6' }] }] }).ports, [
    { protocol: 1, port: 8 },
    { protocol: 58, port: 128 },
  ]);
  const s = sec({ toPorts: [{ ports: [{ port: '1000', endPort: 2000, protocol: 'TCP' }] }] });
  assert.equal(s.opensPort(6, 1500), true);
  assert.equal(s.opensPort(6, 2001), false);
  assert.equal(s.opensPort(17, 1500), false);
  assert.equal(s.describePorts(), '1000-2000/TCP');
});

test('compileSections orders allow sections before deny sections', () => {
  const r: Rule = { endpointSelector: {}, ingressDeny: [{}], ingress: [{}, {}] };
  assert.deepEqual(compileSections([{ rule: r, index: 0 }], 'ingress').map((s) => s.deny), [false, false, true]);
  assert.deepEqual(compileSections([{ rule: r, index: 0 }], 'egress'), []);
});
