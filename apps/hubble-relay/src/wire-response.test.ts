import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { observer } from '@cilium-ts/api';
import { encodeOwnResponse, RELAY_OBSERVER_SERVICE, scanGetFlowsResponse, WireFormatError } from './wire-response.js';

const enc = (r: observer.DeepPartial<observer.GetFlowsResponse>) => observer.GetFlowsResponse.encode(observer.GetFlowsResponse.fromPartial(r)).finish();

test('scanGetFlowsResponse reads kind and time and keeps the bytes', () => {
  const rows: [observer.DeepPartial<observer.GetFlowsResponse>, string | undefined, [number, number] | undefined][] = [
    [{ flow: { Summary: 'x', nodeName: 'n1' }, nodeName: 'n1', time: { seconds: 1_700_000_000n, nanos: 123_456_789 } }, 'flow', [1_700_000_000, 123_456_789]],
    [{ nodeStatus: { stateChange: 2, nodeNames: ['a'] }, time: { seconds: 5n, nanos: 0 } }, 'node_status', [5, 0]],
    [{ lostEvents: { numEventsLost: 7n } }, 'lost_events', undefined],
    [{ time: { seconds: -62135596800n, nanos: 1 } }, undefined, [-62135596800, 1]],
    [{}, undefined, undefined],
  ];
  for (const [msg, kind, time] of rows) {
    const bytes = enc(msg);
    const w = scanGetFlowsResponse(bytes);
    assert.equal(w.kind, kind);
    assert.equal(w.hasTime, time !== undefined);
    assert.deepEqual([w.sec, w.nsec], time ?? [0, 0]);
    assert.equal(w.wire, bytes);
  }
});

test('scanGetFlowsResponse agrees with the generated decoder on arbitrary responses', () => {
  const resp = fc.record({
    kind: fc.constantFrom('flow', 'nodeStatus', 'lostEvents', 'none'),
    seconds: fc.bigInt({ min: -62135596800n, max: 253402300799n }),
    nanos: fc.integer({ min: 0, max: 999_999_999 }),
    withTime: fc.boolean(),
    nodeName: fc.string(),
  });
  fc.assert(
    fc.property(resp, (r) => {
      const bytes = enc({
        nodeName: r.nodeName,
        time: r.withTime ? { seconds: r.seconds, nanos: r.nanos } : undefined,
        flow: r.kind === 'flow' ? { Summary: r.nodeName } : undefined,
        nodeStatus: r.kind === 'nodeStatus' ? { nodeNames: [r.nodeName] } : undefined,
        lostEvents: r.kind === 'lostEvents' ? { numEventsLost: 1n } : undefined,
      });
      const w = scanGetFlowsResponse(bytes);
      const d = observer.GetFlowsResponse.decode(bytes);
      assert.equal(w.kind, d.flow ? 'flow' : d.nodeStatus ? 'node_status' : d.lostEvents ? 'lost_events' : undefined);
      assert.equal(w.hasTime, d.time !== undefined);
      assert.equal(w.sec, d.time ? Number(d.time.seconds) : 0);
      assert.equal(w.nsec, d.time ? d.time.nanos : 0);
    }),
  );
});

test('scanGetFlowsResponse rejects malformed bytes', () => {
  const good = enc({ flow: { Summary: 'x' }, time: { seconds: 1n, nanos: 0 } });
  assert.throws(() => scanGetFlowsResponse(good.subarray(0, good.length - 1)), WireFormatError);
  assert.throws(() => scanGetFlowsResponse(Uint8Array.of(0x0f)), WireFormatError);
  assert.throws(() => scanGetFlowsResponse(Uint8Array.of(0x08)), WireFormatError);
  // time (1001) whose inner varint runs past its declared length
  assert.throws(() => scanGetFlowsResponse(Uint8Array.of(0xca, 0x3e, 0x01, 0x08, 0x05)), WireFormatError);
});

test('the relay serializer forwards relayed bytes unchanged and encodes its own responses', () => {
  const bytes = enc({ flow: { Summary: 'relayed' }, time: { seconds: 9n, nanos: 9 } });
  const ser = RELAY_OBSERVER_SERVICE.getFlows.responseSerialize;
  assert.deepEqual(new Uint8Array(ser(scanGetFlowsResponse(bytes))), bytes);
  const own = observer.GetFlowsResponse.fromPartial({ nodeName: 'relay', nodeStatus: { stateChange: 1, nodeNames: ['a'] }, time: { seconds: 3n, nanos: 4 } });
  assert.deepEqual(observer.GetFlowsResponse.decode(ser(own)), own);
  const w = encodeOwnResponse(own);
  assert.deepEqual(observer.GetFlowsResponse.decode(w.wire), own);
  assert.deepEqual([w.kind, w.sec, w.nsec, w.hasTime], ['node_status', 3, 4, true]);
});
