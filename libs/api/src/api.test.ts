import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { FileDescriptorSet } from 'ts-proto-descriptors';
import { descriptorSetPath, flow, health, observer, peer, agent, timestampFromNanos } from './index.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const MAX_U64 = 2n ** 64n - 1n;

test('GetFlowsRequest decodes number = 2^64-1 (hubble observe --all)', () => {
  // field 1, varint 0xffffffffffffffff; field 3 (follow) = true, as the Go CLI sends them.
  const wire = Buffer.from('08ffffffffffffffffff011801', 'hex');
  const req = observer.GetFlowsRequest.decode(wire);
  assert.equal(req.number, MAX_U64);
  assert.equal(req.follow, true);
  assert.equal(hex(observer.GetFlowsRequest.encode(req).finish()), wire.toString('hex'));
});

test('events requests carry follow in field 2, GetFlowsRequest in field 3', () => {
  assert.equal(hex(observer.GetAgentEventsRequest.encode(observer.GetAgentEventsRequest.fromPartial({ follow: true })).finish()), '1001');
  assert.equal(hex(observer.GetDebugEventsRequest.encode(observer.GetDebugEventsRequest.fromPartial({ follow: true })).finish()), '1001');
  assert.equal(hex(observer.GetFlowsRequest.encode(observer.GetFlowsRequest.fromPartial({ follow: true })).finish()), '1801');
  assert.equal(hex(observer.GetFlowsRequest.encode(observer.GetFlowsRequest.fromPartial({ first: true })).finish()), '4801');
});

test('Timestamp keeps nanosecond precision through encode/decode', () => {
  const time = timestampFromNanos(1_700_000_000_123_456_789n);
  const decoded = flow.Flow.decode(flow.Flow.encode(flow.Flow.fromPartial({ time })).finish());
  assert.deepEqual(decoded.time, { seconds: 1_700_000_000n, nanos: 123_456_789 });
});

test('BoolValue is_reply round-trips false and stays absent when unset', () => {
  const withFalse = flow.Flow.encode(flow.Flow.fromPartial({ isReply: false })).finish();
  // field 26, wire type 2 (tag 0xd2 0x01), empty BoolValue (false is its default).
  assert.equal(hex(withFalse), 'd20100');
  assert.equal(flow.Flow.decode(withFalse).isReply, false);
  const withTrue = flow.Flow.encode(flow.Flow.fromPartial({ isReply: true })).finish();
  assert.equal(flow.Flow.decode(withTrue).isReply, true);
  const unset = flow.Flow.encode(flow.Flow.fromPartial({})).finish();
  assert.equal(unset.length, 0);
  assert.equal(flow.Flow.decode(unset).isReply, undefined);
});

test('UInt32Value node counts are sent when 0', () => {
  const bytes = observer.ServerStatusResponse.encode(
    observer.ServerStatusResponse.fromPartial({ numConnectedNodes: 0, numUnavailableNodes: 0 }),
  ).finish();
  assert.equal(hex(bytes), '2a00' + '3200');
  const decoded = observer.ServerStatusResponse.decode(bytes);
  assert.equal(decoded.numConnectedNodes, 0);
  assert.equal(decoded.numUnavailableNodes, 0);
});

test('field-number traps: Summary is 100000, node_name 1000, time 1001', () => {
  assert.equal(hex(flow.Flow.encode(flow.Flow.fromPartial({ Summary: 'x' })).finish()), '82ea300178');
  const resp = observer.GetFlowsResponse.fromPartial({ nodeName: 'n', time: { seconds: 1n, nanos: 0 } });
  // 1000<<3|2 = 8002 -> c2 3e; 1001<<3|2 = 8010 -> ca 3e
  assert.equal(hex(observer.GetFlowsResponse.encode(resp).finish()), 'c23e016e' + 'ca3e020801');
  const tp = flow.Flow.encode(flow.Flow.fromPartial({ traceObservationPoint: flow.TraceObservationPoint.TO_ENDPOINT })).finish();
  assert.equal(hex(tp), 'c00165');
});

test('FlowFilter accepts packed and unpacked repeated enums and uint32s', () => {
  // verdict (5) packed [1, 2]; source_identity (19) unpacked 42.
  const packed = Buffer.from('2a020102', 'hex');
  const f1 = flow.FlowFilter.decode(packed);
  assert.deepEqual(f1.verdict, [flow.Verdict.FORWARDED, flow.Verdict.DROPPED]);
  const unpacked = Buffer.from('2801' + '2802' + '98012a', 'hex');
  const f2 = flow.FlowFilter.decode(unpacked);
  assert.deepEqual(f2.verdict, [flow.Verdict.FORWARDED, flow.Verdict.DROPPED]);
  assert.deepEqual(f2.sourceIdentity, [42]);
});

test('service paths are the upstream ones', () => {
  assert.equal(observer.ObserverService.getFlows.path, '/observer.Observer/GetFlows');
  assert.equal(observer.ObserverService.serverStatus.path, '/observer.Observer/ServerStatus');
  assert.equal(peer.PeerService.notify.path, '/peer.Peer/Notify');
  assert.equal(health.HealthService.check.path, '/grpc.health.v1.Health/Check');
  assert.equal(health.HealthService.watch.path, '/grpc.health.v1.Health/Watch');
  assert.equal(agent.DaemonService.status.path, '/cilium.agent.v1.Daemon/Status');
});

test('descriptor set holds every proto file and the well-known types it imports', () => {
  assert.ok(existsSync(descriptorSetPath()), descriptorSetPath());
  const set = FileDescriptorSet.decode(readFileSync(descriptorSetPath()));
  const names = set.file.map((f) => f.name);
  for (const name of [
    'flow/flow.proto', 'observer/observer.proto', 'peer/peer.proto', 'relay/relay.proto',
    'grpc/health/v1/health.proto', 'grpc/reflection/v1/reflection.proto',
    'grpc/reflection/v1alpha/reflection.proto', 'cilium/agent/v1/agent.proto',
    'cilium/operator/v1/operator.proto', 'google/protobuf/timestamp.proto', 'google/protobuf/wrappers.proto',
  ]) {
    assert.ok(names.includes(name), `missing ${name} in ${names.join(', ')}`);
  }
  const obs = set.file.find((f) => f.name === 'observer/observer.proto');
  assert.deepEqual(obs?.publicDependency, [obs?.dependency.indexOf('flow/flow.proto')]);
  assert.ok(obs?.sourceCodeInfo?.location.length, 'source info included');
});
