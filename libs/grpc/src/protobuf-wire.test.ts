// The shared protobuf wire reader and writer against the generated (ts-proto) code.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { flow, observer } from '@cilium-ts/api';
import { ProtoWireError, protoTag, varintSize, WireReader, WireType, WireWriter } from './protobuf-wire.js';

test('WireWriter writes the bytes ts-proto writes (nested lengths past 127, UTF-8, empty repeated elements, large tags)', () => {
  const labels = ['k8s:app=web', '', `k8s:long=${'x'.repeat(200)}`, 'k8s:name=ünïcødé'];
  const expected = observer.GetFlowsResponse.encode(
    observer.GetFlowsResponse.fromPartial({
      flow: { source: { ID: 7, identity: 300_000, namespace: 'default', labels, podName: 'web-0' }, reply: true, Summary: 'TCP Flags: SYN' },
      nodeName: 'node-1',
      time: { seconds: 1_700_000_000n, nanos: 123_456_789 },
    }),
  ).finish();
  const w = new WireWriter(4096);
  const f = w.begin(1);
  const src = w.begin(8);
  w.uint(1, 7);
  w.uint(2, 300_000);
  w.string(3, 'default');
  for (const l of labels) w.stringAlways(4, l);
  w.string(5, 'web-0');
  w.end(src);
  w.bool(16, true);
  w.bool(17, false);
  w.string(100000, 'TCP Flags: SYN');
  w.end(f);
  w.string(1000, 'node-1');
  w.timestamp(1001, 1_700_000_000, 123_456_789);
  assert.deepEqual(new Uint8Array(w.bytes()), expected);
});

test('WireReader reads what ts-proto wrote, skipping unknown wire types', () => {
  const bytes = flow.Flow.encode(
    flow.Flow.fromPartial({ time: { seconds: -5n, nanos: 9 }, verdict: flow.Verdict.DROPPED, socketCookie: 2n ** 52n, cgroupId: 3n, nodeName: 'n' }),
  ).finish();
  const r = new WireReader().reset(bytes);
  const seen: Record<number, unknown> = {};
  while (!r.done) {
    const tag = r.varint();
    const field = Math.floor(tag / 8);
    if (tag === protoTag(1, WireType.DELIMITED)) {
      const end = r.delimited();
      const outer = r.end;
      r.end = end;
      const ts: number[] = [];
      while (!r.done) {
        r.varint();
        ts.push(r.int64());
      }
      r.end = outer;
      seen[field] = ts;
    } else if (tag === protoTag(2, WireType.VARINT)) {
      seen[field] = r.varint();
    } else {
      r.skip(tag & 7);
      seen[field] = 'skipped';
    }
  }
  assert.deepEqual(seen[1], [-5, 9]);
  assert.equal(seen[2], flow.Verdict.DROPPED);
  assert.equal(seen[11], 'skipped');
  assert.equal(Object.values(seen).filter((v) => v === 'skipped').length, 3, JSON.stringify(seen));
});

test('WireReader throws ProtoWireError on truncated and malformed bytes', () => {
  const good = observer.GetFlowsResponse.encode(observer.GetFlowsResponse.fromPartial({ nodeName: 'node-1' })).finish();
  const walk = (b: Uint8Array): void => {
    const r = new WireReader().reset(b);
    while (!r.done) r.skip(r.varint() & 7);
    if (r.pos !== b.length) throw new ProtoWireError('ran past the end');
  };
  walk(good);
  for (const bad of [good.subarray(0, good.length - 1), Uint8Array.of(0x80), Uint8Array.of(0x0f), Uint8Array.of(...new Array(11).fill(0xff)), Uint8Array.of(0x09, 1, 2)]) {
    assert.throws(() => walk(bad), ProtoWireError, Buffer.from(bad).toString('hex'));
  }
});

test('varintSize matches the encoding', () => {
  for (const v of [0, 1, 127, 128, 16383, 16384, 2 ** 32, Number.MAX_SAFE_INTEGER]) {
    const w = new WireWriter(16);
    w.varint(v);
    assert.equal(w.pos, varintSize(v), String(v));
    assert.equal(new WireReader().reset(w.bytes()).varint(), v);
  }
});
