// The benchmark's pre-encoded frames, written with libs/grpc's WireWriter, against the
// generated decoder: every frame is a GetFlowsResponse with the bench flow, the node's name
// and the interleaved time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { observer } from '@cilium-ts/api';
import { benchFlow, benchFrames } from './bench-flows.js';

test('benchFrames decode with the generated code to the flow, node name and interleaved times', () => {
  const t0 = 1_700_000_000n;
  // 1000 nodes' spacing: times cross a second boundary.
  const frames = benchFrames('node-2', 1, 1000, 1500, t0);
  let off = 0;
  let k = 0;
  while (off < frames.length) {
    assert.equal(frames[off], 0, 'uncompressed');
    const len = frames.readUInt32BE(off + 1);
    const resp = observer.GetFlowsResponse.decode(frames.subarray(off + 5, off + 5 + len));
    const us = k * 1000 + 1;
    assert.deepEqual(resp.time, { seconds: t0 + BigInt(Math.floor(us / 1e6)), nanos: (us % 1e6) * 1000 }, `frame ${k}`);
    assert.equal(resp.nodeName, 'node-2');
    assert.deepEqual(resp.flow, benchFlow('node-2'));
    off += 5 + len;
    k++;
  }
  assert.equal(k, 1500);
});
