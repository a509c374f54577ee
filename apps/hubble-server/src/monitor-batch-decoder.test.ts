import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { agent, timestampFromNanos } from '@cilium-ts/api';
import { decodeMonitorMessage, splitNanos, type MonitorBatch } from './monitor-batch-decoder.js';

const encode = (e: agent.DeepPartial<agent.MonitorEvent>): Uint8Array => agent.MonitorEvent.encode(agent.MonitorEvent.fromPartial(e)).finish();

function asBatch(bytes: Uint8Array): MonitorBatch {
  const m = decodeMonitorMessage(bytes);
  assert.equal(m.kind, 'batch');
  return m as MonitorBatch;
}

/** What the generated decoder makes of the same bytes, as (records, seconds/nanos pairs). */
function reference(bytes: Uint8Array): { records: Buffer[]; stamps: number[]; nodeName: string } {
  const e = agent.MonitorEvent.decode(bytes);
  const stamps = e.batch!.timeNs.flatMap((ns) => {
    const t = timestampFromNanos(ns);
    return [Number(t.seconds), t.nanos];
  });
  return { records: e.batch!.records.map((r) => Buffer.from(r)), stamps, nodeName: e.nodeName };
}

test('splitNanos: exact seconds and nanos for every uint64', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (ns) => {
      const lo = Number(ns & 0xffffffffn);
      const hi = Number(ns >> 32n);
      assert.deepEqual(splitNanos(lo, hi), { seconds: Number(ns / 1_000_000_000n), nanos: Number(ns % 1_000_000_000n) });
    }),
    { numRuns: 2000 },
  );
  assert.deepEqual(splitNanos(0xffffffff, 0xffffffff), { seconds: 18446744073, nanos: 709551615 });
  assert.deepEqual(splitNanos(0, 0), { seconds: 0, nanos: 0 });
});

test('a batch reads the same records, stamps and node name as the generated decoder', () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 40 }),
      fc.array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { maxLength: 40 }),
      fc.string({ maxLength: 20 }),
      fc.option(fc.record({ seconds: fc.bigInt({ min: 0n, max: 253402300799n }), nanos: fc.nat({ max: 999_999_999 }) }), { nil: undefined }),
      (records, timeNs, nodeName, time) => {
        const bytes = encode({ time, nodeName, batch: { records: records.map((r) => Buffer.from(r)), timeNs } });
        const got = asBatch(bytes);
        const want = reference(bytes);
        assert.deepEqual(got.records.map((r) => Buffer.from(r)), want.records);
        assert.deepEqual([...got.stamps.subarray(0, 2 * got.stampCount)], want.stamps);
        assert.equal(got.nodeName, want.nodeName);
        assert.deepEqual([got.seconds, got.nanos], time ? [Number(time.seconds), time.nanos] : [-1, 0]);
      },
    ),
    { numRuns: 300 },
  );
});

test('unpacked stamps (one fixed64 field per value) are read too', () => {
  // DatapathBatch { records: "ab", time_ns: 5 (unpacked), time_ns: 3e9 + 7 (unpacked) }, as field 6 of MonitorEvent.
  const fixed = (n: bigint): number[] => [...Buffer.from(new BigUint64Array([n]).buffer)];
  const batch = [0x0a, 2, 0x61, 0x62, 0x11, ...fixed(5n), 0x11, ...fixed(3_000_000_007n)];
  const bytes = Uint8Array.from([0x32, batch.length, ...batch]);
  const got = asBatch(bytes);
  assert.deepEqual([...got.stamps.subarray(0, 4)], [0, 5, 3, 7]);
  assert.deepEqual(reference(bytes).stamps, [0, 5, 3, 7]);
  assert.deepEqual(Buffer.from(got.records[0]!), Buffer.from('ab'));
});

test('every other message goes through the generated decoder', () => {
  const others: agent.DeepPartial<agent.MonitorEvent>[] = [
    { time: { seconds: 5n, nanos: 1 }, nodeName: 'n1', datapath: Buffer.from([1, 2, 3]) },
    { agent: { type: 2, json: '{}' } },
    { lost: 17n },
    {},
  ];
  for (const e of others) {
    const bytes = encode(e);
    const m = decodeMonitorMessage(bytes);
    assert.equal(m.kind, 'event');
    if (m.kind === 'event') assert.deepEqual(m.event, agent.MonitorEvent.decode(bytes));
  }
  // A batch followed by a field this reader does not know: the generated decoder decides.
  const withUnknown = Uint8Array.from([...encode({ batch: { records: [Buffer.from('x')], timeNs: [1n] } }), 0x40, 0x01]);
  const m = decodeMonitorMessage(withUnknown);
  assert.equal(m.kind, 'event');
  if (m.kind === 'event') assert.deepEqual(m.event.batch?.timeNs, [1n]);
});

test('malformed bytes throw as the generated decoder does', () => {
  const good = encode({ batch: { records: [Buffer.alloc(64, 7)], timeNs: [1n] } });
  const cut = good.subarray(0, good.length - 10);
  assert.throws(() => agent.MonitorEvent.decode(cut));
  assert.throws(() => decodeMonitorMessage(cut));
});
