import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Metadata, status as Status } from '@grpc/grpc-js';
import { observer } from '@cilium-ts/api';
import { openPeerFlows } from './peer-flow-stream.js';
import type { RawStatus } from '@cilium-ts/grpc';

test('a peer address the raw reader cannot dial fails the call UNAVAILABLE, asynchronously', async () => {
  let sync = true;
  const st = await new Promise<RawStatus>((resolve) => {
    openPeerFlows(
      { name: 'odd', address: 'unix:relative.sock', tls: undefined, available: true, client: undefined },
      observer.GetFlowsRequest.fromPartial({}),
      new Metadata(),
      { message: () => assert.fail('no message expected'), status: resolve },
    );
    sync = false;
  });
  assert.equal(sync, false, 'the status comes after openPeerFlows returned');
  assert.equal(st.code, Status.UNAVAILABLE);
  assert.match(st.details, /unix:relative\.sock/);
});
