import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import { agent } from '@cilium-ts/api';
import { encodeEventRecord, encodeTraceSockRecord } from '@cilium-ts/bpf/events';
import { buildPacket, TcpFlags } from '@cilium-ts/bpf/testing/packet-builder';
import { formatMonitorEvent, monitorEventJson } from './monitor-format.js';

const time = { seconds: 1_700_000_000n, nanos: 5 };

// A drop event of a TCP SYN 10.0.1.5:40000 -> 10.0.1.6:80 denied by policy.
function dropEvent(): agent.MonitorEvent {
  const packet = buildPacket({ src: '10.0.1.5', dst: '10.0.1.6', protocol: 'tcp', sport: 40000, dport: 80, tcpFlags: TcpFlags.syn });
  const datapath = encodeEventRecord({ type: 1, subType: 133, source: 12, srcIdentity: 300, dstIdentity: 256, origLen: packet.length, packet });
  return { time, nodeName: 'node-1', datapath };
}

/** A debug record (type 2): the 48-byte header with arg1..arg3 at bytes 16-27 and no packet. */
function debugEvent(subType: number, source: number, args: [number, number, number]): agent.MonitorEvent {
  return { time, nodeName: 'node-1', datapath: encodeEventRecord({ type: 2, subType, source, args, ifindex: 9 }) };
}

describe('monitor-format', () => {
  it('summarizes a policy drop on one line', () => {
    assert.equal(
      formatMonitorEvent(dropEvent()),
      '2023-11-14T22:13:20.000Z [node-1] xx drop (Policy denied) ingress endpoint 12 identity 300->256: 10.0.1.5:40000 -> 10.0.1.6:80 TCP Flags: SYN',
    );
  });

  it('names the L7 fail-closed drop (165) as Cilium does, and an unknown code by number', () => {
    const packet = buildPacket({ src: '10.0.1.5', dst: '10.0.1.6', protocol: 'tcp', sport: 40000, dport: 80, tcpFlags: TcpFlags.syn });
    const line = (subType: number): string => formatMonitorEvent({ time, nodeName: 'n', datapath: encodeEventRecord({ type: 1, subType, source: 12, srcIdentity: 300, dstIdentity: 256, packet }) });
    assert.match(line(165), /xx drop \(No configuration available to perform policy decision\) ingress endpoint 12 /);
    assert.equal(monitorEventJson({ time, nodeName: 'n', datapath: encodeEventRecord({ type: 1, subType: 165, packet }) }).dropReason, 'No configuration available to perform policy decision');
    assert.match(line(250), /xx drop \(250, 0\) /);
  });

  it('names every drop reason and trace point from the datapath vocabulary (@cilium-ts/bpf/events)', () => {
    const packet = buildPacket({ src: '10.0.1.5', dst: '10.0.1.6', protocol: 'udp', sport: 1, dport: 2 });
    const deny = encodeEventRecord({ type: 1, subType: 181, source: 12, egress: true, packet });
    assert.match(formatMonitorEvent({ time, nodeName: '', datapath: deny }), / xx drop \(Policy denied by denylist\) egress endpoint 12 /);
    assert.equal(monitorEventJson({ time, nodeName: '', datapath: deny }).dropReason, 'Policy denied by denylist');
    const invalid = encodeEventRecord({ type: 1, subType: 2, source: 12, packet });
    assert.match(formatMonitorEvent({ time, nodeName: '', datapath: invalid }), / xx drop \(Invalid packet\) ingress endpoint 12 /);
    const overlay = encodeEventRecord({ type: 4, subType: 9, source: 12, packet });
    assert.match(formatMonitorEvent({ time, nodeName: '', datapath: overlay }), / -> from-overlay endpoint 12 /);
  });

  it('decodes a policy verdict into JSON', () => {
    const packet = buildPacket({ src: 'fd00::1', dst: 'fd00::2', protocol: 'udp', sport: 5353, dport: 53 });
    const datapath = encodeEventRecord({ type: 5, source: 7, egress: true, allowed: true, matchedPort: 53, matchedProtocol: 17, matchType: 2, packet });
    const j = monitorEventJson({ time, nodeName: 'n', datapath });
    assert.equal(j.type, 'policy-verdict');
    assert.equal(j.verdict, 'ALLOWED');
    assert.equal(j.matchType, 'L3-L4');
    assert.equal(j.direction, 'egress');
    assert.equal(j.src, 'fd00::1');
    assert.equal(j.dstPort, 53);
    assert.match(formatMonitorEvent({ time, nodeName: 'n', datapath }), /policy-verdict egress ALLOWED endpoint 7 match L3-L4 port 53\/UDP .* \[fd00::1\]:5353 -> \[fd00::2\]:53 UDP$/);
  });

  it('formats trace, lost and agent events, and survives a short record', () => {
    const packet = buildPacket({ src: '10.0.0.1', dst: '10.0.0.2', protocol: 'icmp', icmpType: 8, icmpCode: 0 });
    const trace = formatMonitorEvent({ time, nodeName: '', datapath: encodeEventRecord({ type: 4, subType: 5, source: 3, packet }) });
    assert.match(trace, /-> from-endpoint endpoint 3 identity 0->0: 10\.0\.0\.1 -> 10\.0\.0\.2 ICMPv4 EchoRequest$/);
    assert.match(formatMonitorEvent({ time, nodeName: '', lost: 7n }), /lost 7 events$/);
    assert.match(formatMonitorEvent({ time, nodeName: '', agent: { type: 3, json: '{"revision":2}' } }), /agent event 3: \{"revision":2\}$/);
    assert.match(formatMonitorEvent({ time, nodeName: '', datapath: Buffer.alloc(10) }), /undecodable datapath record/);
  });

  it('prints a debug record as Cilium does: FROM <endpoint> DEBUG: <message>, and decodes it into JSON', () => {
    // DBG_CT_LOOKUP4_2: nexthdr 6 (TCP), direction egress, result new.
    const ev = debugEvent(49, 12, [6, 1, 0]);
    assert.equal(formatMonitorEvent(ev), '2023-11-14T22:13:20.000Z [node-1] FROM 12 DEBUG: Conntrack lookup 2/2: nexthdr=6 dir=egress result=new');
    const j = monitorEventJson(ev);
    assert.deepEqual(
      { type: j.type, debugType: j.debugType, endpoint: j.endpoint, args: j.args, message: j.message },
      { type: 'debug', debugType: 'DBG_CT_LOOKUP4_2', endpoint: 12, args: [6, 1, 0], message: 'Conntrack lookup 2/2: nexthdr=6 dir=egress result=new' },
    );
  });
});

test('formatMonitorEvent: a trace sock record as Cilium prints a TraceSockNotify', () => {
  const rec = encodeTraceSockRecord({ xlatePoint: 2, endpointId: 12, revNatIndex: 7, address: '10.0.2.7', port: 8080, protocol: 6, socketCookie: 5n, cgroupId: 9n });
  const line = formatMonitorEvent(agent.MonitorEvent.fromPartial({ datapath: rec }));
  assert.match(line, /\[post-xlate-fwd\] endpoint 12 cgroup_id: 9 sock_cookie: 5, dst \[10\.0\.2\.7\]:8080 tcp$/);
});
