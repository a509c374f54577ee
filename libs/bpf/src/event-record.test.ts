import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeEventRecord, encodeEventRecord, EventRecordError, recordCapLen, recordDstEndpoint, recordDstIdentity, recordFlags,
  recordHash, recordIfindex, recordKtimeNs, recordMatchType, recordPacket, recordSource, recordSrcIdentity, recordSubType, recordType,
} from './event-record.js';

/** A policy verdict written byte by byte as docs/CONTRACTS.md lays it out (high bits set where a sign could creep in). */
function contractRecord(packet: Buffer): Buffer {
  const rec = Buffer.alloc(48 + packet.length);
  rec.writeUInt8(5, 0);
  rec.writeUInt8(7, 1);
  rec.writeUInt16LE(0xfedc, 2);
  rec.writeUInt32LE(0x89abcdef, 4);
  rec.writeUInt32LE(1500, 8);
  rec.writeUInt16LE(packet.length, 12);
  rec.writeUInt8(1, 14);
  rec.writeUInt8(0b11011, 15);
  rec.writeUInt32LE(256, 16);
  rec.writeUInt32LE(0xff000001, 20);
  rec.writeUInt16LE(77, 24);
  rec.writeUInt16LE(8080, 26);
  rec.writeUInt8(6, 28);
  rec.writeUInt8(2, 29);
  rec.writeUInt16LE(181, 30);
  rec.writeUInt32LE(0x80000002, 32);
  rec.writeBigUInt64LE(0x123456789abcdef0n, 40);
  packet.copy(rec, 48);
  return rec;
}

test('decodeEventRecord reads every CONTRACTS.md field, and encodeEventRecord writes the same bytes back', () => {
  const rec = contractRecord(Buffer.from([1, 2, 3, 4, 5]));
  const d = decodeEventRecord(rec);
  assert.deepEqual({ ...d, packet: [...d.packet] }, {
    type: 5, subType: 7, source: 0xfedc, hash: 0x89abcdef, origLen: 1500, capLen: 5, version: 1,
    isReply: true, egress: true, ipv6: false, allowed: true, redirected: true, verdictDropReason: 181,
    srcIdentity: 256, dstIdentity: 0xff000001, dstEndpoint: 77, matchedPort: 8080, matchedProtocol: 6,
    matchType: 2, ifindex: 0x80000002, ktimeNs: 0x123456789abcdef0n, packet: [1, 2, 3, 4, 5], args: [0, 0, 0],
  });
  assert.deepEqual(encodeEventRecord({ ...d }), rec);
});

test('the record accessors read the same fields as decodeEventRecord, from a Uint8Array view', () => {
  const whole = contractRecord(Buffer.from([9, 8, 7]));
  const view = new Uint8Array(whole.length + 3);
  view.set(whole, 3);
  const b = view.subarray(3);
  const d = decodeEventRecord(whole);
  assert.deepEqual(
    [recordType(b), recordSubType(b), recordSource(b), recordHash(b), recordCapLen(b), recordFlags(b), recordSrcIdentity(b),
      recordDstIdentity(b), recordDstEndpoint(b), recordMatchType(b), recordIfindex(b), recordKtimeNs(b), [...recordPacket(b)]],
    [d.type, d.subType, d.source, d.hash, d.capLen, 0b11011, d.srcIdentity, d.dstIdentity, d.dstEndpoint, d.matchType, d.ifindex, d.ktimeNs, [9, 8, 7]],
  );
});

test('a denied policy verdict carries its drop reason at bytes 30-31; other records read 0 there', () => {
  const verdict = encodeEventRecord({ type: 5, verdictDropReason: 165 });
  assert.equal(verdict.readUInt16LE(30), 165);
  assert.equal(decodeEventRecord(verdict).verdictDropReason, 165);
  const drop = Buffer.from(verdict);
  drop[0] = 1;
  assert.equal(decodeEventRecord(drop).verdictDropReason, 0);
});

test('debug records carry args instead of identities, endpoint and port, both ways', () => {
  const rec = encodeEventRecord({ type: 2, subType: 48, source: 3, ipv6: true, args: [0x0a000001, 0xffffffff, 42] });
  assert.deepEqual([rec.readUInt32LE(16), rec.readUInt32LE(20), rec.readUInt32LE(24)], [0x0a000001, 0xffffffff, 42]);
  const d = decodeEventRecord(rec);
  assert.deepEqual([d.args, d.srcIdentity, d.dstIdentity, d.ipv6, d.subType], [[0x0a000001, 0xffffffff, 42], 0, 0, true, 48]);
});

test('decodeEventRecord: a short header throws EventRecordError naming the length; cap_len beyond the record is clamped', () => {
  assert.throws(() => decodeEventRecord(Buffer.alloc(47)), (e: unknown) => e instanceof EventRecordError && e.length === 47 && /got 47 bytes, need at least 48/.test(e.message));
  const rec = encodeEventRecord({ type: 1, packet: Buffer.from([9, 9]), capLen: 128 });
  const d = decodeEventRecord(rec);
  assert.deepEqual([d.capLen, [...d.packet]], [128, [9, 9]]);
});
