// Fuzz: random and mutated DNS messages must parse or throw DnsFormatError, and the
// proxy's verdict on them must be a forward of a well-formed single-question query or an
// answer it can send (never a throw), under any policy.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { buildDnsQuery, DnsFormatError, parseDnsMessage, Rcode } from './dns-message.js';
import { dnsVerdict } from './dns-verdict.js';
import type { ConnectionContext } from './http-listener.js';

const ctx: ConnectionContext = {
  endpointId: 1, direction: 'egress',
  source: { address: '10.0.0.2', port: 40000, identity: 5001 },
  destination: { address: '10.0.0.53', port: 53, identity: 2 },
  policy: { allowAll: false, rules: { dns: [{ matchPattern: '*.example' }] } },
  upstream: { address: '10.0.0.53', port: 53 },
};

const seeds = [buildDnsQuery(1, 'allowed.example'), buildDnsQuery(2, 'a.b.c.d.example', 28), Buffer.from('0001818000010001000000000161076578616d706c650000010001c00c000100010000003c0004c0000201', 'hex')];

const mutated = fc.tuple(fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.nat(), fc.boolean()).map(([seed, flips, cut, doCut]) => {
  const b = Buffer.from(seed);
  for (const [i, v] of flips) b[i % b.length] = v;
  return doCut ? b.subarray(0, cut % (b.length + 1)) : b;
});

test('DNS parser and verdict never crash on random or mutated input', () => {
  fc.assert(
    fc.property(fc.oneof(mutated, fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a))), (buf) => {
      try {
        parseDnsMessage(buf);
      } catch (err) {
        assert.ok(err instanceof DnsFormatError, `not a DnsFormatError: ${String(err)}`);
      }
      const v = dnsVerdict(ctx, buf);
      if (v.action === 'forward') {
        assert.equal(v.query.questions.length, 1);
        assert.match(v.query.questions[0]!.name, /\.example\.$/);
      } else {
        assert.ok([Rcode.FORMERR, Rcode.REFUSED].includes(v.rcode as 1 | 5));
        if (buf.length >= 2) assert.equal(parseDnsMessage(v.response!).id, buf.readUInt16BE(0), 'the answer carries the query id');
      }
    }),
    { numRuns: 1500 },
  );
});
