import assert from 'node:assert/strict';
import { test } from 'node:test';
import { flow, observer } from '@cilium-ts/api';
import { encodeTraceSockRecord, XlatePoint } from '@cilium-ts/bpf/events';
import { encodeFlowEventResponse } from './flow-response-encoder.js';
import type { EndpointGetter, EndpointInfo, IPCacheGetter, ServiceGetter } from './getters.js';
import { ParseError, Parser } from './parser.js';
import { compileFlowFilters } from './filters/registry.js';

const CLIENT: EndpointInfo = { id: 101, identity: 256, namespace: 'default', podName: 'client', labels: ['k8s:app=client'], ipv4: '10.0.1.5', ipv6: 'fd00:1::5' };
const endpoints: EndpointGetter = { getEndpointByID: (id) => (id === 101 ? CLIENT : undefined), getEndpointByIP: (ip) => (ip === '10.0.1.5' ? CLIENT : undefined) };
const ipcache: IPCacheGetter = { getIPIdentity: (ip) => (ip === '10.0.2.7' ? { identity: 300, namespace: 'default', podName: 'web-1', nodeName: 'n2' } : undefined) };
const services: ServiceGetter = {
  getServiceByID: (id) => (id === 7 ? { id: 7, name: 'web', namespace: 'default' } : undefined),
  getServiceByAddr: () => undefined,
};
const parser = new Parser({ nodeName: 'n1', endpoints, ipcache, services });

function decode(point: number, address: string, port: number, extra: { endpointId?: number; revNatIndex?: number; protocol?: number } = {}): flow.Flow {
  const rec = encodeTraceSockRecord({ xlatePoint: point, endpointId: extra.endpointId ?? 101, revNatIndex: extra.revNatIndex ?? 7, address, port, protocol: extra.protocol ?? 6, socketCookie: 42n, cgroupId: 9n });
  const e = parser.decodeRecordAt(rec, 1_700_000_000, 5, 'n1');
  assert.equal(e.kind, 'flow');
  return (e as { flow: flow.Flow }).flow;
}

test('forward points: TRACED to the frontend, then TRANSLATED to the backend, both naming the service as destination_service', () => {
  const pre = decode(XlatePoint.preDirectionFwd, '10.96.0.10', 80);
  assert.equal(pre.verdict, flow.Verdict.TRACED);
  assert.equal(pre.Type, flow.FlowType.SOCK);
  assert.deepEqual(pre.eventType, { type: 7, subType: 1 });
  assert.equal(pre.sockXlatePoint, flow.SocketTranslationPoint.SOCK_XLATE_POINT_PRE_DIRECTION_FWD);
  assert.deepEqual([pre.IP?.source, pre.IP?.destination], ['10.0.1.5', '10.96.0.10']);
  assert.deepEqual(pre.l4?.TCP && [pre.l4.TCP.sourcePort, pre.l4.TCP.destinationPort], [0, 80]);
  assert.deepEqual([pre.source?.podName, pre.source?.ID], ['client', 101]);
  assert.deepEqual(pre.destinationService, { name: 'web', namespace: 'default' });
  assert.equal(pre.sourceService, undefined);
  assert.equal(pre.Summary, 'TCP');
  assert.equal(pre.socketCookie, 42n);
  assert.equal(pre.cgroupId, 9n);

  const post = decode(XlatePoint.postDirectionFwd, '10.0.2.7', 8080);
  assert.equal(post.verdict, flow.Verdict.TRANSLATED);
  assert.deepEqual([post.IP?.destination, post.destination?.podName, post.destination?.identity], ['10.0.2.7', 'web-1', 300]);
  assert.deepEqual(post.destinationService, { name: 'web', namespace: 'default' });
});

test('reverse points swap the sides: the service is the source (source_service)', () => {
  const rev = decode(XlatePoint.postDirectionRev, '10.96.0.10', 53, { protocol: 17 });
  assert.equal(rev.verdict, flow.Verdict.TRANSLATED);
  assert.deepEqual([rev.IP?.source, rev.IP?.destination], ['10.96.0.10', '10.0.1.5']);
  assert.deepEqual(rev.l4?.UDP, { sourcePort: 53, destinationPort: 0 });
  assert.deepEqual(rev.sourceService, { name: 'web', namespace: 'default' });
  assert.equal(rev.destinationService, undefined);
  assert.equal(rev.destination?.podName, 'client');
  assert.equal(rev.Summary, 'UDP');
});

test('IPv6, an unknown socket namespace, a nameless service', () => {
  const f = decode(XlatePoint.postDirectionFwd, 'fd00:2::7', 8080, { endpointId: 0, revNatIndex: 8 });
  assert.equal(f.IP?.ipVersion, flow.IPVersion.IPv6);
  assert.deepEqual([f.IP?.source, f.IP?.destination], ['', 'fd00:2::7']);
  assert.equal(f.destinationService, undefined);
});

test('--to-service / --from-service filters match the flows; the response encodes and decodes to the same flow', () => {
  const pre = decode(XlatePoint.preDirectionFwd, '10.96.0.10', 80);
  const rev = decode(XlatePoint.postDirectionRev, '10.96.0.10', 80);
  const to = compileFlowFilters([flow.FlowFilter.fromPartial({ destinationService: ['default/web'] })], []);
  const from = compileFlowFilters([flow.FlowFilter.fromPartial({ sourceService: ['default/web'] })], []);
  assert.deepEqual([to(pre), to(rev), from(pre), from(rev)], [true, false, false, true]);
  const bytes = encodeFlowEventResponse({ kind: 'flow', time: pre.time!, nodeName: 'n1', flow: pre });
  assert.deepEqual(observer.GetFlowsResponse.decode(bytes).flow, pre);
});

test('a cut trace sock record is a ParseError', () => {
  const rec = encodeTraceSockRecord({ xlatePoint: 1, endpointId: 101, revNatIndex: 7, address: '10.96.0.10', port: 80, protocol: 6 }).subarray(0, 60);
  assert.throws(() => parser.decodeRecordAt(rec, 1, 0, 'n1'), ParseError);
});
