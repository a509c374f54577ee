import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DatapathRecordError, decodeDatapathRecord, encodeDatapathRecord } from './datapath-record.js';

test('decodeDatapathRecord reads every CONTRACTS.md field', () => {
  const packet = Buffer.from([1, 2, 3, 4, 5]);
  const rec = Buffer.alloc(48 + packet.length);
  rec.writeUInt8(5, 0);
  rec.writeUInt8(0, 1);
  rec.writeUInt16LE(1234, 2);
  rec.writeUInt32LE(1500, 8);
  rec.writeUInt16LE(5, 12);
  rec.writeUInt8(1, 14);
  rec.writeUInt8(0b11011, 15);
  rec.writeUInt32LE(256, 16);
  rec.writeUInt32LE(16777217, 20);
  rec.writeUInt16LE(77, 24);
  rec.writeUInt16LE(8080, 26);
  rec.writeUInt8(6, 28);
  rec.writeUInt8(2, 29);
  rec.writeUInt32LE(42, 32);
  rec.writeBigUInt64LE(123456789012345n, 40);
  packet.copy(rec, 48);
  const d = decodeDatapathRecord(rec);
  assert.deepEqual({ ...d, packet: [...d.packet] }, {
    type: 5, subType: 0, source: 1234, hash: 0, origLen: 1500, capLen: 5, version: 1,
    isReply: true, egress: true, ipv6: false, allowed: true, redirected: true, verdictDropReason: 0,
    srcIdentity: 256, dstIdentity: 16777217, dstEndpoint: 77, matchedPort: 8080, matchedProto: 6,
    policyMatchType: 2, ifindex: 42, ktimeNs: 123456789012345n, packet: [1, 2, 3, 4, 5],
  });
  assert.deepEqual(encodeDatapathRecord({ ...d }), rec);
});

test('decodeDatapathRecord: a denied policy verdict carries its drop reason at bytes 30-31; other records read 0 there', () => {
  const verdict = encodeDatapathRecord({ type: 5, verdictDropReason: 165 });
  assert.equal(verdict.readUInt16LE(30), 165);
  assert.equal(decodeDatapathRecord(verdict).verdictDropReason, 165);
  const drop = Buffer.from(verdict);
  drop[0] = 1;
  assert.equal(decodeDatapathRecord(drop).verdictDropReason, 0);
});

test('decodeDatapathRecord: short header throws, cap_len beyond the record is clamped', () => {
  assert.throws(() => decodeDatapathRecord(Buffer.alloc(47)), (e: unknown) => e instanceof DatapathRecordError && e.length === 47);
  const rec = encodeDatapathRecord({ type: 1, packet: Buffer.from([9, 9]), capLen: 128 });
  assert.equal(decodeDatapathRecord(rec).packet.length, 2);
});
