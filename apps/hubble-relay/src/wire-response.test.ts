import assert from 'node:assert/strict';
import { test } from 'node:test';
import { observer } from '@cilium-ts/api';
import { isWire, RELAY_OBSERVER_SERVICE, scanGetFlowsResponse, WireFormatError } from './wire-response.js';

const enc = (r: observer.DeepPartial<observer.GetFlowsResponse>) => observer.GetFlowsResponse.encode(observer.GetFlowsResponse.fromPartial(r)).finish();

test('scanGetFlowsResponse reads kind and time and keeps the bytes', () => {
  const rows: [observer.DeepPartial<observer.GetFlowsResponse>, string | undefined, { seconds: bigint; nanos: number } | undefined][] = [
    [{ flow: { Summary: 'x', nodeName: 'n1' }, nodeName: 'n1', time: { seconds: 1_700_000_000n, nanos: 123_456_789 } }, 'flow', { seconds: 1_700_000_000n, nanos: 123_456_789 }],
    [{ nodeStatus: { stateChange: 2, nodeNames: ['a'] }, time: { seconds: 5n, nanos: 0 } }, 'node_status', { seconds: 5n, nanos: 0 }],
    [{ lostEvents: { numEventsLost: 7n } }, 'lost_events', undefined],
    [{ time: { seconds: -62135596800n, nanos: 1 } }, undefined, { seconds: -62135596800n, nanos: 1 }],
    [{}, undefined, undefined],
  ];
  for (const [msg, kind, time] of rows) {
    const bytes = enc(msg);
    const w = scanGetFlowsResponse(bytes);
    assert.equal(w.kind, kind);
    assert.deepEqual(w.time, time);
    assert.equal(w.wire, bytes);
    assert.ok(isWire(w));
  }
});

test('scanGetFlowsResponse rejects malformed bytes', () => {
  const good = enc({ flow: { Summary: 'x' }, time: { seconds: 1n, nanos: 0 } });
  assert.throws(() => scanGetFlowsResponse(good.subarray(0, good.length - 1)), WireFormatError);
  assert.throws(() => scanGetFlowsResponse(Uint8Array.of(0x0f)), WireFormatError);
});

test('the relay serializer forwards relayed bytes unchanged and encodes its own responses', () => {
  const bytes = enc({ flow: { Summary: 'relayed' }, time: { seconds: 9n, nanos: 9 } });
  const ser = RELAY_OBSERVER_SERVICE.getFlows.responseSerialize;
  assert.deepEqual(new Uint8Array(ser(scanGetFlowsResponse(bytes))), bytes);
  const own = observer.GetFlowsResponse.fromPartial({ nodeName: 'relay', nodeStatus: { stateChange: 1, nodeNames: ['a'] } });
  assert.deepEqual(observer.GetFlowsResponse.decode(ser(own)), own);
});
