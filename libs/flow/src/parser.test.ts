import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agent, flow, observer, Timestamp } from '@cilium-ts/api';
import { encodeEventRecord } from '@cilium-ts/bpf/events';
import { encodeFlowEventResponse } from './flow-response-encoder.js';
import type { EndpointGetter, EndpointInfo } from './getters.js';
import { buildPacket, TcpFlags } from '@cilium-ts/bpf/testing/packet-builder';
import { ParseError, Parser } from './parser.js';

const xwing: EndpointInfo = { id: 101, identity: 256, namespace: 'default', podName: 'xwing', labels: ['k8s:app=xwing', 'k8s:class=ship'], hostIfindex: 7, hostIfname: 'lxc1234' };
const deathstar: EndpointInfo = { id: 102, identity: 257, namespace: 'empire', podName: 'deathstar-1', labels: ['k8s:app=deathstar'] };
const endpoints: EndpointGetter = {
  getEndpointByIP: (ip) => ({ '10.0.1.5': xwing, '10.0.1.9': deathstar })[ip],
  getEndpointByID: (id) => ({ 101: xwing, 102: deathstar })[id],
};
const time = Timestamp.create({ seconds: 1700000000n, nanos: 123456789 });

function event(rec: Parameters<typeof encodeEventRecord>[0]): agent.MonitorEvent {
  return agent.MonitorEvent.fromPartial({ time, nodeName: '', datapath: encodeEventRecord(rec) });
}

test('parser: trace from-endpoint TCP SYN between two local pods', () => {
  const parser = new Parser({ nodeName: 'node-1', endpoints });
  const packet = buildPacket({ src: '10.0.1.5', dst: '10.0.1.9', protocol: 'tcp', sport: 43210, dport: 80, tcpFlags: TcpFlags.syn });
  const ev = parser.decode(event({ type: 4, subType: 5, source: 101, egress: true, srcIdentity: 256, dstIdentity: 257, ifindex: 7, packet }));
  assert.equal(ev.kind, 'flow');
  const f = ev.kind === 'flow' ? ev.flow : flow.Flow.create();
  assert.deepEqual(f.time, time);
  assert.equal(f.nodeName, 'node-1');
  assert.equal(f.verdict, flow.Verdict.FORWARDED);
  assert.deepEqual(f.eventType, { type: 4, subType: 5 });
  assert.equal(f.traceObservationPoint, flow.TraceObservationPoint.FROM_ENDPOINT);
  assert.equal(f.trafficDirection, flow.TrafficDirection.EGRESS);
  assert.equal(f.isReply, false);
  assert.equal(f.Type, flow.FlowType.L3_L4);
  assert.deepEqual(f.IP, { source: '10.0.1.5', destination: '10.0.1.9', ipVersion: flow.IPVersion.IPv4, encrypted: false });
  assert.equal(f.l4?.TCP?.sourcePort, 43210);
  assert.equal(f.l4?.TCP?.flags?.SYN, true);
  assert.equal(f.Summary, 'TCP Flags: SYN');
  assert.deepEqual(f.source, flow.Endpoint.fromPartial({ ID: 101, identity: 256, namespace: 'default', podName: 'xwing', labels: ['k8s:app=xwing', 'k8s:class=ship'] }));
  assert.deepEqual(f.destination, flow.Endpoint.fromPartial({ ID: 102, identity: 257, namespace: 'empire', podName: 'deathstar-1', labels: ['k8s:app=deathstar'] }));
  assert.deepEqual(f.interface, { index: 7, name: 'lxc1234' });
  assert.deepEqual(f.ethernet, { source: '02:00:00:00:00:01', destination: '02:00:00:00:00:02' });
});

test('parser: drop with policy denied, remote peer via ipcache and identity getters', () => {
  const parser = new Parser({
    nodeName: 'c1/node-1',
    endpoints,
    ipcache: { getIPIdentity: (ip) => (ip === '10.0.2.3' ? { identity: 300, namespace: 'rebels', podName: 'ywing', nodeName: 'node-2' } : undefined) },
    identities: { getIdentity: (id) => (id === 300 ? { id, labels: ['k8s:app=ywing'] } : undefined) },
  });
  const packet = buildPacket({ src: '10.0.2.3', dst: '10.0.1.5', protocol: 'udp', sport: 5000, dport: 53 });
  const ev = parser.decode(event({ type: 1, subType: 133, source: 101, egress: false, srcIdentity: 9, dstIdentity: 256, packet }));
  assert.ok(ev.kind === 'flow');
  const f = ev.flow;
  assert.equal(f.nodeName, 'c1/node-1');
  assert.equal(f.verdict, flow.Verdict.DROPPED);
  assert.equal(f.dropReason, 133);
  assert.equal(f.dropReasonDesc, flow.DropReason.POLICY_DENIED);
  assert.deepEqual(f.eventType, { type: 1, subType: 133 });
  assert.equal(f.trafficDirection, flow.TrafficDirection.INGRESS);
  assert.equal(f.Summary, 'UDP');
  assert.deepEqual(f.source, flow.Endpoint.fromPartial({ identity: 300, namespace: 'rebels', podName: 'ywing', labels: ['k8s:app=ywing'] }));
  assert.equal(f.destination?.ID, 101);
  assert.equal(f.destination?.podName, 'xwing');
});

test('parser: policy verdict, reply, unknown peer falls back to datapath identity', () => {
  const parser = new Parser({ nodeName: 'node-1' });
  const packet = buildPacket({ src: 'fd00::5', dst: '2001:db8::1', protocol: 'icmpv6', icmpType: 129, icmpCode: 0 });
  const denied = parser.decode(event({ type: 5, source: 9, egress: true, ipv6: true, matchType: 2, srcIdentity: 256, dstIdentity: 2, packet }));
  assert.ok(denied.kind === 'flow');
  assert.equal(denied.flow.verdict, flow.Verdict.DROPPED);
  assert.equal(denied.flow.dropReason, 133);
  assert.equal(denied.flow.policyMatchType, 2);
  assert.equal(denied.flow.IP?.ipVersion, flow.IPVersion.IPv6);
  assert.equal(denied.flow.Summary, 'ICMPv6 EchoReply');
  assert.deepEqual(denied.flow.destination, flow.Endpoint.fromPartial({ identity: 2, labels: ['reserved:world'] }));
  assert.equal(denied.flow.source?.ID, 9);
  const allowedReply = parser.decode(event({ type: 5, allowed: true, isReply: true, egress: true, packet }));
  assert.ok(allowedReply.kind === 'flow');
  assert.equal(allowedReply.flow.verdict, flow.Verdict.FORWARDED);
  assert.equal(allowedReply.flow.isReply, true);
  assert.equal(allowedReply.flow.trafficDirection, flow.TrafficDirection.INGRESS);
  assert.equal(allowedReply.flow.IP?.source, 'fd00::5');
});

test('parser: truncated packet and garbage still give a flow; bad header and empty payload throw ParseError', () => {
  const parser = new Parser({ nodeName: 'n' });
  const ev = parser.decode(event({ type: 4, subType: 0, packet: Buffer.from([1, 2, 3]) }));
  assert.ok(ev.kind === 'flow');
  assert.equal(ev.flow.IP, undefined);
  assert.equal(ev.flow.traceObservationPoint, flow.TraceObservationPoint.TO_ENDPOINT);
  assert.throws(() => parser.decode(agent.MonitorEvent.fromPartial({ datapath: Buffer.alloc(10) })), ParseError);
  assert.throws(() => parser.decode(agent.MonitorEvent.fromPartial({})), ParseError);
});

test('parser: node name from the event, prefixed with a non-default cluster', () => {
  const rec = encodeEventRecord({ type: 4, packet: Buffer.alloc(0) });
  const ev = (nodeName: string) => agent.MonitorEvent.fromPartial({ time, nodeName, datapath: rec });
  assert.equal(new Parser({ nodeName: 'c1/self', clusterName: 'c1' }).decode(ev('n2')).nodeName, 'c1/n2');
  assert.equal(new Parser({ nodeName: 'c1/self', clusterName: 'c1' }).decode(ev('')).nodeName, 'c1/self');
  assert.equal(new Parser({ nodeName: 'self', clusterName: 'default' }).decode(ev('n2')).nodeName, 'n2');
  const f = new Parser({ nodeName: 'self' }).decode(ev('x/n2'));
  assert.ok(f.kind === 'flow' && f.flow.nodeName === 'x/n2');
});

test('parser: lost and agent events', () => {
  const parser = new Parser({ nodeName: 'n', now: () => time });
  const lost = parser.decode(agent.MonitorEvent.fromPartial({ lost: 12n }));
  assert.ok(lost.kind === 'lost');
  assert.equal(lost.lost.numEventsLost, 12n);
  assert.deepEqual(lost.time, time);
  const ag = parser.decode(agent.MonitorEvent.fromPartial({ time, agent: { type: 7, json: JSON.stringify({ id: 5, podName: 'xwing', namespace: 'default', labels: ['k8s:a=b'] }) } }));
  assert.ok(ag.kind === 'agent');
  assert.equal(ag.agent.type, flow.AgentEventType.ENDPOINT_CREATED);
  assert.equal(ag.agent.endpointUpdate?.podName, 'xwing');
  assert.equal(ag.agent.endpointUpdate?.id, 5n);
  const bad = parser.decode(agent.MonitorEvent.fromPartial({ time, agent: { type: 3, json: '{nope' } }));
  assert.ok(bad.kind === 'agent');
  assert.equal(bad.agent.unknown?.notification, '{nope');
});

test('parser: never throws on garbage packets behind a valid header', async () => {
  const fc = (await import('fast-check')).default;
  const parser = new Parser({ nodeName: 'n', endpoints });
  fc.assert(
    fc.property(fc.constantFrom(1, 4, 5, 7), fc.nat(255), fc.nat(255), fc.uint8Array({ maxLength: 160 }), (type, subType, flags, packet) => {
      const rec = encodeEventRecord({ type, subType, source: 101, packet });
      rec.writeUInt8(flags, 15);
      // Trace sock records (type 7) are 80 bytes: shorter ones are a ParseError, never a throw of another kind.
      if (type === 7 && rec.length < 80) {
        assert.throws(() => parser.decode(agent.MonitorEvent.fromPartial({ time, datapath: rec })), ParseError);
        return;
      }
      const ev = parser.decode(agent.MonitorEvent.fromPartial({ time, datapath: rec }));
      assert.equal(ev.kind, 'flow');
      flow.Flow.encode(ev.kind === 'flow' ? ev.flow : flow.Flow.create()).finish();
    }),
    { numRuns: 1000 },
  );
});

test('parser: SCTP ports land in l4.SCTP (upstream Layer4 field 5), and the port and protocol filters see them', () => {
  const parser = new Parser({ nodeName: 'node-1' });
  const packet = buildPacket({ src: '10.0.1.5', dst: '10.0.2.3', protocol: 'sctp', sport: 36412, dport: 38412 });
  const ev = parser.decode(event({ type: 4, source: 101, egress: true, packet }));
  assert.ok(ev.kind === 'flow');
  assert.deepEqual(ev.flow.l4, { SCTP: { sourcePort: 36412, destinationPort: 38412 } });
  assert.equal(ev.flow.Summary, 'SCTP');
  const bytes = flow.Flow.encode(ev.flow).finish();
  assert.deepEqual(flow.Flow.decode(bytes).l4, flow.Layer4.fromPartial({ SCTP: { sourcePort: 36412, destinationPort: 38412 } }));
});

test('parser: every datapath flow gets its own UUID, kept by the event and written on the wire (Flow field 34)', () => {
  const parser = new Parser({ nodeName: 'node-1' });
  const packet = buildPacket({ src: '10.0.1.5', dst: '10.0.2.3', protocol: 'udp', sport: 5000, dport: 53 });
  const a = parser.decode(event({ type: 4, source: 101, egress: true, packet }));
  const b = parser.decode(event({ type: 4, source: 101, egress: true, packet }));
  assert.ok(a.kind === 'flow' && b.kind === 'flow');
  assert.match(a.flow.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, "RFC 9562 version 8 with the RFC 4122 variant");
  assert.notEqual(a.flow.uuid, b.flow.uuid);
  assert.equal(a.flow.uuid, a.flow.uuid, 'stable across reads');
  const wire = observer.GetFlowsResponse.decode(encodeFlowEventResponse(a));
  assert.equal(wire.flow?.uuid, a.flow.uuid);
});

test('parser: L7 fail-closed drop (165) and policy verdicts carrying their reason or a redirect, on both encode paths', () => {
  const parser = new Parser({ nodeName: 'node-1', endpoints });
  const packet = buildPacket({ src: '10.0.1.9', dst: '10.0.1.5', protocol: 'tcp', sport: 41000, dport: 80, tcpFlags: TcpFlags.syn });
  const decode = (rec: Parameters<typeof encodeEventRecord>[0]): [flow.Flow, flow.Flow] => {
    const ev = parser.decode(event(rec));
    assert.ok(ev.kind === 'flow');
    return [ev.flow, observer.GetFlowsResponse.decode(encodeFlowEventResponse(ev)).flow!];
  };
  for (const f of decode({ type: 1, subType: 165, source: 101, srcIdentity: 257, dstIdentity: 256, packet })) {
    assert.equal(f.verdict, flow.Verdict.DROPPED);
    assert.equal(f.dropReason, 165);
    assert.equal(f.dropReasonDesc, flow.DropReason.NO_CONFIGURATION_AVAILABLE_TO_PERFORM_POLICY_DECISION);
    assert.equal(flow.dropReasonToJSON(f.dropReasonDesc), 'NO_CONFIGURATION_AVAILABLE_TO_PERFORM_POLICY_DECISION');
  }
  for (const [reason, want] of [[165, 165], [181, 181], [0, 133]] as const) {
    for (const f of decode({ type: 5, source: 101, matchType: 2, verdictDropReason: reason, srcIdentity: 257, dstIdentity: 256, packet })) {
      assert.equal(f.verdict, flow.Verdict.DROPPED);
      assert.equal(f.dropReason, want);
      assert.equal(f.dropReasonDesc, want as flow.DropReason);
    }
  }
  for (const f of decode({ type: 5, source: 101, allowed: true, redirected: true, matchType: 2, srcIdentity: 257, dstIdentity: 256, packet })) {
    assert.equal(f.verdict, flow.Verdict.REDIRECTED);
    assert.equal(f.dropReason, 0);
  }
});
