import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildDnsQuery, DnsFormatError, dnsErrorResponse, parseDnsMessage, queryProblem, Rcode, RRType } from './dns-message.js';

/** A response to `query` with the given answer records (name as a pointer to the question). */
function answer(query: Buffer, records: Array<{ type: number; ttl: number; rdata: Buffer }>): Buffer {
  const out = Buffer.from(query);
  out.writeUInt16BE(0x8180, 2);
  out.writeUInt16BE(records.length, 6);
  const parts: Buffer[] = [out];
  for (const r of records) {
    const h = Buffer.alloc(12);
    h.writeUInt16BE(0xc00c, 0);
    h.writeUInt16BE(r.type, 2);
    h.writeUInt16BE(1, 4);
    h.writeUInt32BE(r.ttl, 6);
    h.writeUInt16BE(r.rdata.length, 10);
    parts.push(h, r.rdata);
  }
  return Buffer.concat(parts);
}

describe('DNS messages', () => {
  test('a query parses to its id, RD and lower-case question with a trailing dot', () => {
    const q = parseDnsMessage(buildDnsQuery(0x1234, 'Allowed.Example', RRType.AAAA));
    assert.deepEqual(q, { id: 0x1234, response: false, opcode: 0, rd: true, rcode: 0, questions: [{ name: 'allowed.example.', type: RRType.AAAA, class: 1 }], answers: [] });
    assert.equal(queryProblem(q), undefined);
  });

  test('answers with compression pointers give names, IPs (v4 and v6), CNAME targets and TTLs', () => {
    const query = buildDnsQuery(7, 'a.example');
    const cname = Buffer.from([1, 0x62, 0xc0, 0x0e]); // "b" + pointer to "example." at 14
    const msg = parseDnsMessage(answer(query, [
      { type: RRType.CNAME, ttl: 30, rdata: cname },
      { type: RRType.A, ttl: 60, rdata: Buffer.from([192, 0, 2, 7]) },
      { type: RRType.AAAA, ttl: 61, rdata: Buffer.from('20010db8000000000000000000000001', 'hex') },
    ]));
    assert.equal(msg.response, true);
    assert.deepEqual(msg.answers, [
      { name: 'a.example.', type: RRType.CNAME, class: 1, ttl: 30, target: 'b.example.' },
      { name: 'a.example.', type: RRType.A, class: 1, ttl: 60, ip: '192.0.2.7' },
      { name: 'a.example.', type: RRType.AAAA, class: 1, ttl: 61, ip: '2001:db8::1' },
    ]);
  });

  test('malformed messages throw DnsFormatError with the offset', () => {
    const q = buildDnsQuery(1, 'x.example');
    const cases: Array<[string, Buffer, RegExp]> = [
      ['short header', q.subarray(0, 5), /header needs 12 bytes/],
      ['truncated name', q.subarray(0, 15), /truncated/],
      ['pointer loop', Buffer.concat([q.subarray(0, 12), Buffer.from([0xc0, 0x0c, 0, 1, 0, 1])]), /does not point backwards/],
      ['extended label type', Buffer.concat([q.subarray(0, 12), Buffer.from([0x41, 0, 0, 1, 0, 1])]), /label type/],
      ['record past the end', answer(q, [{ type: RRType.A, ttl: 1, rdata: Buffer.from([1, 2, 3, 4]) }]).subarray(0, -2), /past the end/],
      ['A of 3 bytes', answer(q, [{ type: RRType.A, ttl: 1, rdata: Buffer.from([1, 2, 3]) }]), /A record of 3 bytes/],
    ];
    for (const [what, buf, re] of cases) assert.throws(() => parseDnsMessage(buf), (e: unknown) => e instanceof DnsFormatError && re.test(e.message), what);
  });

  test('queries the proxy cannot decide on are named', () => {
    const two = buildDnsQuery(1, 'x.example');
    two.writeUInt16BE(0, 4);
    assert.match(queryProblem(parseDnsMessage(two))!, /0 questions/);
    const update = buildDnsQuery(1, 'x.example');
    update.writeUInt16BE(0x2800, 2);
    assert.match(queryProblem(parseDnsMessage(update))!, /opcode 5/);
  });

  test('REFUSED echoes id, RD and the question; FORMERR of garbage keeps the id only', () => {
    const q = buildDnsQuery(0xbeef, 'denied.example');
    const r = parseDnsMessage(dnsErrorResponse(q, Rcode.REFUSED)!);
    assert.deepEqual(r, { id: 0xbeef, response: true, opcode: 0, rd: true, rcode: Rcode.REFUSED, questions: [{ name: 'denied.example.', type: 1, class: 1 }], answers: [] });
    const f = parseDnsMessage(dnsErrorResponse(Buffer.from([0xab, 0xcd, 0xff]), Rcode.FORMERR)!);
    assert.deepEqual([f.id, f.response, f.rcode, f.questions.length], [0xabcd, true, Rcode.FORMERR, 0]);
    assert.equal(dnsErrorResponse(Buffer.from([1]), Rcode.FORMERR), undefined, 'no id: nothing to answer');
  });
});
