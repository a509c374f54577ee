import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePolicyDocument } from './document.js';
import { fqdnLabelsFor, fqdnSelectorLabel } from './fqdn-selector.js';
import { PolicyEngine, type PrefixChange } from './policy-engine.js';
import { PolicyValidationError } from './validation-error.js';

const doc = (egress: unknown[], field = 'egress'): string => JSON.stringify([{ endpointSelector: { matchLabels: { app: 'client' } }, [field]: egress }]);
const errors = (text: string): string[] => {
  try {
    parsePolicyDocument(text);
  } catch (err) {
    if (err instanceof PolicyValidationError) return err.errors.map((e) => `${e.path}: ${e.message}`);
    throw err;
  }
  return [];
};

test('toFQDNs: accepted in egress; bad names, patterns and placements are refused with their path', () => {
  const rules = parsePolicyDocument(doc([{ toFQDNs: [{ matchName: 'Allowed.Example.' }, { matchPattern: '*.svc.example' }], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }] }] }]));
  assert.deepEqual(rules[0]!.egress![0]!.toFQDNs, [{ matchName: 'Allowed.Example.' }, { matchPattern: '*.svc.example' }]);
  assert.deepEqual(errors(doc([{ toFQDNs: [{ matchName: 'bad name!' }] }])), ['[0].egress[0].toFQDNs[0].matchName: "bad name!" is not a DNS name (letters, digits, \'-\', \'_\' and \'.\')']);
  assert.deepEqual(errors(doc([{ toFQDNs: [{ matchPattern: 'a/b' }] }])), ['[0].egress[0].toFQDNs[0].matchPattern: "a/b" is not a DNS pattern (letters, digits, \'-\', \'_\', \'.\' and \'*\')']);
  assert.deepEqual(errors(doc([{ toFQDNs: [{ matchName: 'a.example', matchPattern: '*' }] }])), ['[0].egress[0].toFQDNs[0]: must set exactly one of matchName and matchPattern']);
  assert.deepEqual(errors(doc([{ toFQDNs: 'a.example' }])), ['[0].egress[0].toFQDNs: must be a list, got string "a.example"']);
  assert.match(errors(doc([{ toFQDNs: [{ matchName: 'a.example' }] }], 'egressDeny')).join('\n'), /egressDeny\[0\]\.toFQDNs: cannot be used in egressDeny/);
  assert.match(errors(doc([{ toFQDNs: [{ matchName: 'a.example' }], toEndpoints: [{}] }])).join('\n'), /combining toEndpoints and toFQDNs/);
  assert.match(errors(JSON.stringify([{ endpointSelector: {}, ingress: [{ toFQDNs: [{ matchName: 'a.example' }] }] }])).join('\n'), /ingress\[0\]\.toFQDNs: unknown field/);
});

test('fqdn labels: one per matching selector, lower case, no trailing dot', () => {
  const sels = [{ matchName: 'Allowed.Example.' }, { matchPattern: '*.example' }, { matchPattern: '*.other' }];
  assert.equal(fqdnSelectorLabel(sels[0]!), 'fqdn:allowed.example');
  assert.deepEqual(fqdnLabelsFor(sels, 'ALLOWED.example.'), ['fqdn:*.example', 'fqdn:allowed.example']);
  assert.deepEqual(fqdnLabelsFor(sels, 'a.b.other.'), []);
});

test('a learned IP is selected by its toFQDNs rule only while it carries the label; its identity is shared with a toCIDR rule naming it', () => {
  const engine = new PolicyEngine();
  engine.addRules(parsePolicyDocument(doc([{ toFQDNs: [{ matchPattern: '*.example' }], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }] }] }])));
  const h = engine.endpoint(['k8s:app=client']);
  const changes: PrefixChange[] = [];
  engine.onPrefixChange((c) => changes.push(c));
  assert.equal(h.egressEnforced, true, 'a toFQDNs rule puts the endpoint into default deny before anything is learned');
  assert.deepEqual(h.entries(), []);

  const id = engine.setLearnedPrefix('192.0.2.7/32', ['fqdn:*.example'])!;
  assert.deepEqual(changes, [{ upserted: [{ prefix: '192.0.2.7/32', identity: id }], deleted: [] }]);
  assert.deepEqual(h.entries(), [{ direction: 'egress', identity: id, protocol: 6, port: 80, deny: false }]);
  assert.deepEqual(new Map(engine.identities.all()).get(id), ['cidr:192.0.2.7/32', 'fqdn:*.example', 'reserved:world']);

  // Another selector's label only: no longer selected.
  assert.equal(engine.setLearnedPrefix('192.0.2.7/32', ['fqdn:other.example']), id);
  assert.deepEqual(h.entries(), []);
  engine.setLearnedPrefix('192.0.2.7/32', ['fqdn:*.example']);

  // A toCIDR rule naming the same prefix shares the identity; dropping the learned labels keeps it for the rule.
  engine.addRules(parsePolicyDocument(JSON.stringify([{ endpointSelector: { matchLabels: { app: 'other' } }, egress: [{ toCIDR: ['192.0.2.7/32'] }], labels: ['test:cidr'] }])));
  assert.equal(engine.cidrIdentities.get('192.0.2.7/32'), id);
  changes.length = 0;
  assert.equal(engine.setLearnedPrefix('192.0.2.7/32', []), undefined);
  assert.deepEqual(changes, [], 'the rule still names the prefix: it stays in the ipcache');
  assert.deepEqual(h.entries(), []);
  engine.setLearnedPrefix('192.0.2.7/32', ['fqdn:*.example']);
  engine.deleteRules(['test:cidr']);
  assert.deepEqual(h.entries(), [{ direction: 'egress', identity: id, protocol: 6, port: 80, deny: false }]);
  changes.length = 0;
  engine.setLearnedPrefix('192.0.2.7/32', []);
  assert.deepEqual(changes, [{ upserted: [], deleted: [{ prefix: '192.0.2.7/32', identity: id }] }]);
  assert.deepEqual(h.entries(), []);
  assert.deepEqual(engine.learnedPrefixes(), []);
});
