import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Metadata, status as Status } from '@grpc/grpc-js';
import { observer } from '@cilium-ts/api';
import { openPeerFlows } from './peer-flow-stream.js';
import { RawChannel, type RawStatus } from '@cilium-ts/grpc';

test('a peer address the raw reader cannot dial fails the call UNAVAILABLE, asynchronously', async () => {
  let sync = true;
  const st = await new Promise<RawStatus>((resolve) => {
    openPeerFlows(
      { name: 'odd', address: 'unix:relative.sock', tls: undefined, available: true, client: undefined, rawChannel: new RawChannel({ target: 'unix:relative.sock' }), unary: undefined },
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

test('a peer without a connection (removed meanwhile) fails the call UNAVAILABLE', async () => {
  const st = await new Promise<RawStatus>((resolve) => {
    openPeerFlows(
      { name: 'gone', address: '127.0.0.1:4244', tls: undefined, available: false, client: undefined, rawChannel: undefined, unary: undefined },
      observer.GetFlowsRequest.fromPartial({}),
      new Metadata(),
      { message: () => assert.fail('no message expected'), status: resolve },
    );
  });
  assert.equal(st.code, Status.UNAVAILABLE);
  assert.match(st.details, /cannot call GetFlows on 127\.0\.0\.1:4244: the relay has no connection to it/);
});
