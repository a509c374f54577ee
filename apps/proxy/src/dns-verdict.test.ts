import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildDnsQuery, Rcode } from './dns-message.js';
import { dnsVerdict } from './dns-verdict.js';
import type { ConnectionContext } from './http-listener.js';

const ctx = (policy: ConnectionContext['policy']): ConnectionContext => ({
  endpointId: 1, direction: 'egress',
  source: { address: '10.0.0.2', port: 40000, identity: 5001 },
  destination: { address: '10.0.0.53', port: 53, identity: 2 },
  policy,
  upstream: { address: '10.0.0.53', port: 53 },
});
const rcodeOf = (v: ReturnType<typeof dnsVerdict>): number | 'forward' => (v.action === 'forward' ? 'forward' : v.rcode);

describe('dnsVerdict', () => {
  const rules = ctx({ allowAll: false, rules: { dns: [{ matchName: 'allowed.example' }, { matchPattern: '*.svc.example' }] } });

  test('matchName and matchPattern (one label per *) forward; other names are REFUSED', () => {
    assert.equal(rcodeOf(dnsVerdict(rules, buildDnsQuery(1, 'allowed.example'))), 'forward');
    assert.equal(rcodeOf(dnsVerdict(rules, buildDnsQuery(1, 'ALLOWED.example.'))), 'forward');
    assert.equal(rcodeOf(dnsVerdict(rules, buildDnsQuery(1, 'db.svc.example'))), 'forward');
    assert.equal(rcodeOf(dnsVerdict(rules, buildDnsQuery(1, 'a.db.svc.example'))), Rcode.REFUSED, '* stays within a label');
    assert.equal(rcodeOf(dnsVerdict(rules, buildDnsQuery(1, 'denied.example'))), Rcode.REFUSED);
  });

  test('no policy, or a peer without rules, is REFUSED (fail closed); allowAll forwards any name', () => {
    assert.equal(rcodeOf(dnsVerdict(undefined, buildDnsQuery(1, 'allowed.example'))), Rcode.REFUSED);
    assert.equal(rcodeOf(dnsVerdict(ctx(undefined), buildDnsQuery(1, 'allowed.example'))), Rcode.REFUSED);
    assert.equal(rcodeOf(dnsVerdict(ctx({ allowAll: true, rules: {} }), buildDnsQuery(1, 'anything.example'))), 'forward');
  });

  test('a malformed message or a response is FORMERR', () => {
    assert.equal(rcodeOf(dnsVerdict(rules, Buffer.from('00010100000100', 'hex'))), Rcode.FORMERR);
    const response = buildDnsQuery(1, 'allowed.example');
    response.writeUInt16BE(0x8100, 2);
    assert.equal(rcodeOf(dnsVerdict(rules, response)), Rcode.FORMERR);
  });
});
