import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Datapath } from './datapath.js';
import type { EventReader } from './event-reader.js';
import { DropReason, EventType, MatchType, TracePoint } from './event-record.js';
import type { PolicyEntry } from './map-codecs.js';
import { buildIpPacket, buildPacket, TcpFlags } from './testing/packet-builder.js';
import { EventCollector, needsRoot, uniqueName } from './testing/test-support.js';

const TC_ACT_OK = 0;
const TC_ACT_SHOT = 2;
const TC_ACT_REDIRECT = 7;
const EP = 7;
const EP_IDENTITY = 1000;
const EP_IP = '10.1.0.7';
const EP_IP6 = 'fd01::7';
const PEER = '10.2.0.1'; // identity 300
const PEER6 = 'fd02::1'; // identity 301
const STRANGER = '192.0.2.9'; // not in the ipcache: world

describe('BPF_PROG_RUN of the endpoint programs', needsRoot, () => {
  const pinDir = `/sys/fs/bpf/${uniqueName('progrun')}`;
  let dp: Datapath;
  let reader: EventReader;
  let events: EventCollector;
  const load = (policy: PolicyEntry[], enforced = { ingress: true, egress: true }): void => {
    dp.loadEndpoint({ id: EP, identity: EP_IDENTITY, hostIfindex: 42, ipv4: EP_IP, ipv6: EP_IP6, ingressEnforced: enforced.ingress, egressEnforced: enforced.egress }, policy);
  };
  const out = (spec: Parameters<typeof buildPacket>[0]): number => dp.testRun(EP, 'from-container', buildPacket(spec)).retval;
  const into = (spec: Parameters<typeof buildPacket>[0]): number => dp.testRun(EP, 'to-container', buildPacket(spec)).retval;

  before(async () => {
    Datapath.removePins(pinDir);
    dp = await Datapath.open({ pinDir });
    dp.ipcacheUpsert('10.2.0.0/24', 300, '192.168.0.2');
    dp.ipcacheUpsert('fd02::/64', 301);
    dp.ipcacheUpsert(`${EP_IP}/32`, EP_IDENTITY);
    reader = dp.events({ pollMs: 50 });
    events = new EventCollector(reader);
    await reader.ready();
  });
  beforeEach(() => {
    dp.ctFlush();
    events.clear();
  });
  after(async () => {
    await reader?.close();
    dp?.close();
    Datapath.removePins(pinDir);
  });

  test('egress: the allowed port passes, another port is dropped with reason 133', async () => {
    load([{ direction: 'egress', identity: 300, protocol: 6, port: 80, deny: false }]);
    assert.equal(out({ src: EP_IP, dst: PEER, protocol: 'tcp', dport: 80 }), TC_ACT_OK);
    const pkt = buildPacket({ src: EP_IP, dst: PEER, protocol: 'tcp', sport: 40001, dport: 81 });
    assert.equal(dp.testRun(EP, 'from-container', pkt).retval, TC_ACT_SHOT);
    const drop = await events.waitFor('drop of port 81', (r) => r.type === EventType.drop);
    assert.equal(drop.subType, DropReason.policy);
    assert.equal(drop.source, EP);
    assert.equal(drop.version, 1);
    assert.equal(drop.egress, true);
    assert.equal(drop.ipv6, false);
    assert.equal(drop.srcIdentity, EP_IDENTITY);
    assert.equal(drop.dstIdentity, 300);
    assert.equal(drop.origLen, pkt.length);
    assert.equal(drop.capLen, pkt.length);
    assert.deepEqual(drop.packet, pkt);
    const verdicts = events.records.filter((r) => r.type === EventType.policyVerdict);
    assert.deepEqual(verdicts.map((v) => [v.allowed, v.matchedPort, v.matchedProtocol, v.matchType]), [[true, 80, 6, MatchType.l3l4], [false, 81, 6, MatchType.none]]);
    const trace = events.records.find((r) => r.type === EventType.trace);
    assert.equal(trace?.subType, TracePoint.fromEndpoint);
    const m = dp.metricsList().find((x) => x.reason === DropReason.policy && x.direction === 'egress');
    assert.ok(m && m.packets >= 1n);
  });

  test('ingress: a peer with an unknown address is world (2) and dropped', async () => {
    load([{ direction: 'ingress', identity: 300, protocol: 6, port: 443, deny: false }]);
    assert.equal(into({ src: PEER, dst: EP_IP, protocol: 'tcp', dport: 443 }), TC_ACT_OK);
    assert.equal(into({ src: STRANGER, dst: EP_IP, protocol: 'tcp', dport: 443 }), TC_ACT_SHOT);
    const drop = await events.waitFor('drop from world', (r) => r.type === EventType.drop);
    assert.equal(drop.srcIdentity, 2);
    assert.equal(drop.dstIdentity, EP_IDENTITY);
    assert.equal(drop.dstEndpoint, EP);
    assert.equal(drop.egress, false);
  });

  test('traffic to a local endpoint is redirected to its host veth; replies too; denied traffic is not', () => {
    load([{ direction: 'egress', identity: 300, protocol: 6, port: 80, deny: false }]);
    dp.endpointsMapUpsert(PEER, { endpointId: 8, ifindex: 77, identity: 300 });
    try {
      assert.equal(out({ src: EP_IP, dst: PEER, protocol: 'tcp', sport: 43000, dport: 80 }), TC_ACT_REDIRECT);
      assert.equal(out({ src: EP_IP, dst: PEER, protocol: 'tcp', sport: 43000, dport: 81 }), TC_ACT_SHOT);
      assert.equal(out({ src: EP_IP, dst: '10.2.0.99', protocol: 'tcp', sport: 43000, dport: 80 }), TC_ACT_OK, 'not local: routed by the node');
      assert.equal(into({ src: PEER, dst: EP_IP, protocol: 'tcp', sport: 80, dport: 43000, tcpFlags: TcpFlags.syn | TcpFlags.ack }), TC_ACT_OK, 'the destination side never redirects');
    } finally {
      dp.endpointsMapDelete(PEER);
    }
  });

  test('a deny entry beats an allow entry (reason 181)', async () => {
    load([
      { direction: 'ingress', identity: 300, protocol: 6, port: 22, deny: false },
      { direction: 'ingress', identity: 0, protocol: 6, port: 22, deny: true },
      { direction: 'ingress', identity: 300, protocol: 6, port: 23, deny: false },
    ]);
    assert.equal(into({ src: PEER, dst: EP_IP, protocol: 'tcp', dport: 22 }), TC_ACT_SHOT);
    assert.equal(into({ src: PEER, dst: EP_IP, protocol: 'tcp', dport: 23 }), TC_ACT_OK);
    const drop = await events.waitFor('deny drop', (r) => r.type === EventType.drop);
    assert.equal(drop.subType, DropReason.policyDeny);
  });

  test('a deny added by updatePolicy applies to an established flow; removing it allows again', () => {
    const allow = { direction: 'ingress', identity: 300, protocol: 6, port: 25, deny: false } as const;
    load([allow]);
    const syn = { src: PEER, dst: EP_IP, protocol: 'tcp', sport: 42000, dport: 25 } as const;
    const ack = { ...syn, tcpFlags: TcpFlags.ack };
    assert.equal(into(syn), TC_ACT_OK);
    assert.equal(into(ack), TC_ACT_OK, 'established, decided by the first allow (no deny in the policy)');
    dp.updatePolicy(EP, [allow, { direction: 'ingress', identity: 300, protocol: 0, port: 0, deny: true }]);
    assert.equal(into(ack), TC_ACT_SHOT, 'the L3-only deny is found although the L3-L4 allow matched first');
    dp.updatePolicy(EP, [allow]);
    assert.equal(into(syn), TC_ACT_OK);
    assert.equal(into(ack), TC_ACT_OK);
  });

  test('wildcard entries: any identity on a port, any port of a protocol, L3-only, and L4-only match types', async () => {
    load([
      { direction: 'ingress', identity: 0, protocol: 17, port: 53, deny: false },
      { direction: 'ingress', identity: 301, protocol: 0, port: 0, deny: false },
      { direction: 'egress', identity: 300, protocol: 132, port: 0, deny: false },
    ]);
    assert.equal(into({ src: STRANGER, dst: EP_IP, protocol: 'udp', dport: 53 }), TC_ACT_OK);
    assert.equal(into({ src: STRANGER, dst: EP_IP, protocol: 'udp', sport: 5, dport: 54 }), TC_ACT_SHOT);
    assert.equal(into({ src: PEER6, dst: EP_IP6, protocol: 'tcp', dport: 9 }), TC_ACT_OK);
    assert.equal(into({ src: PEER6, dst: EP_IP6, protocol: 'icmpv6' }), TC_ACT_OK);
    assert.equal(out({ src: EP_IP, dst: PEER, protocol: 'sctp', dport: 7777 }), TC_ACT_OK);
    assert.equal(out({ src: EP_IP, dst: PEER, protocol: 'udp', dport: 7777 }), TC_ACT_SHOT);
    const l4 = await events.waitFor('L4-only verdict', (r) => r.type === EventType.policyVerdict && r.matchType === MatchType.l4Only);
    assert.equal(l4.matchedPort, 53);
    const l3 = await events.waitFor('L3-only verdict', (r) => r.type === EventType.policyVerdict && r.matchType === MatchType.l3Only);
    assert.equal(l3.ipv6, true);
    assert.equal(l3.srcIdentity, 301);
  });

  test('the reply of an allowed connection passes only after the forward packet created CT state', async () => {
    load([{ direction: 'egress', identity: 300, protocol: 6, port: 80, deny: false }]);
    const synAck = { src: PEER, dst: EP_IP, protocol: 'tcp' as const, sport: 80, dport: 40100, tcpFlags: TcpFlags.syn | TcpFlags.ack };
    assert.equal(into(synAck), TC_ACT_SHOT, 'no connection yet: ingress policy drops');
    events.clear();
    assert.equal(out({ src: EP_IP, dst: PEER, protocol: 'tcp', sport: 40100, dport: 80 }), TC_ACT_OK);
    assert.equal(into(synAck), TC_ACT_OK);
    assert.equal(into({ ...synAck, tcpFlags: TcpFlags.ack }), TC_ACT_OK);
    const reply = await events.waitFor('reply trace', (r) => r.type === EventType.trace && r.isReply);
    assert.equal(reply.subType, TracePoint.toEndpoint);
    assert.equal(reply.srcIdentity, 300);
    // Only the SYN-ACK is traced (ACK-only replies are aggregated away).
    assert.equal(events.records.filter((r) => r.type === EventType.trace && r.isReply).length, 1);
    const ct = dp.ctList().find((e) => e.endpointId === EP && e.dport === 80 && e.sport === 40100);
    assert.ok(ct, 'CT entry exists');
    assert.equal(ct.direction, 'egress');
    assert.equal(ct.seenReply, true);
    assert.equal(ct.packets, 3n);
  });

  test('IPv6 ping: echo request allowed by an ICMPv6 entry, echo reply passes as a reply', () => {
    load([{ direction: 'egress', identity: 301, protocol: 58, port: 128, deny: false }]);
    assert.equal(out({ src: EP_IP6, dst: PEER6, protocol: 'icmpv6', icmpType: 128, icmpId: 77 }), TC_ACT_OK);
    assert.equal(into({ src: PEER6, dst: EP_IP6, protocol: 'icmpv6', icmpType: 129, icmpId: 77 }), TC_ACT_OK);
    assert.equal(into({ src: PEER6, dst: EP_IP6, protocol: 'icmpv6', icmpType: 129, icmpId: 78 }), TC_ACT_SHOT);
    // Neighbour discovery and MLD are never subject to policy; other ICMPv6 types are.
    assert.equal(into({ src: PEER6, dst: EP_IP6, protocol: 'icmpv6', icmpType: 135 }), TC_ACT_OK);
    assert.equal(out({ src: EP_IP6, dst: 'ff02::16', protocol: 'icmpv6', icmpType: 143 }), TC_ACT_OK);
    assert.equal(out({ src: EP_IP6, dst: PEER6, protocol: 'icmpv6', icmpType: 129, icmpId: 5 }), TC_ACT_SHOT);
  });

  test('an ICMP error about an allowed connection passes as related', () => {
    load([{ direction: 'egress', identity: 300, protocol: 17, port: 0, deny: false }]);
    assert.equal(out({ src: EP_IP, dst: PEER, protocol: 'udp', sport: 5000, dport: 9 }), TC_ACT_OK);
    const quoted = buildIpPacket({ src: EP_IP, dst: PEER, protocol: 'udp', sport: 5000, dport: 9 }).subarray(0, 28);
    const unreachable = { src: PEER, dst: EP_IP, protocol: 'icmp' as const, icmpType: 3, icmpCode: 3 };
    assert.equal(into({ ...unreachable, payload: quoted }), TC_ACT_OK);
    const other = buildIpPacket({ src: EP_IP, dst: PEER, protocol: 'udp', sport: 5001, dport: 9 }).subarray(0, 28);
    assert.equal(into({ ...unreachable, payload: other }), TC_ACT_SHOT);
  });

  test('enforcement off allows everything, still tracking connections', async () => {
    load([], { ingress: false, egress: false });
    assert.equal(into({ src: STRANGER, dst: EP_IP, protocol: 'tcp', dport: 1 }), TC_ACT_OK);
    assert.equal(out({ src: EP_IP, dst: STRANGER, protocol: 'udp', dport: 2 }), TC_ACT_OK);
    assert.ok(dp.ctList().some((e) => e.endpointId === EP && e.daddr === STRANGER));
    // No policy-verdict events where no policy is enforced (Cilium's verdict log filter).
    await events.waitFor('the traces of both packets', () => events.records.filter((r) => r.type === EventType.trace).length >= 2);
    assert.equal(events.records.filter((r) => r.type === EventType.policyVerdict).length, 0);
  });

  test('updatePolicy applies only the difference and takes effect on the next packet', () => {
    load([{ direction: 'egress', identity: 300, protocol: 6, port: 80, deny: false }]);
    const syn = { src: EP_IP, dst: PEER, protocol: 'tcp' as const, dport: 8080 };
    assert.equal(out(syn), TC_ACT_SHOT);
    dp.updatePolicy(EP, [
      { direction: 'egress', identity: 300, protocol: 6, port: 8080, endPort: 8081, deny: false },
      { direction: 'egress', identity: 300, protocol: 6, port: 80, deny: false },
    ]);
    assert.equal(out(syn), TC_ACT_OK);
    assert.deepEqual(dp.policyList(EP).map((e) => e.port).sort(), [80, 8080, 8081]);
    dp.updatePolicy(EP, []);
    // An established forward flow is re-checked and cut when its policy goes away.
    assert.equal(out(syn), TC_ACT_SHOT);
  });

  test('non-IP frames (ARP) pass untouched', () => {
    load([]);
    const arp = Buffer.alloc(42);
    arp.writeUInt16BE(0x0806, 12);
    assert.equal(dp.testRun(EP, 'to-container', arp).retval, TC_ACT_OK);
  });
  test('tunnel mode: a packet to a remote node\'s pod is encapsulated and redirected (to-overlay trace); others stay native', async () => {
    load([], { ingress: false, egress: false });
    dp.setTunnel({ ifindex: 1, localIpv4: '192.168.0.1' });
    try {
      assert.equal(out({ src: EP_IP, dst: PEER, protocol: 'tcp', sport: 40100, dport: 80, tcpFlags: TcpFlags.syn }), TC_ACT_REDIRECT);
      const trace = await events.waitFor('to-overlay trace', (r) => r.type === EventType.trace && r.subType === TracePoint.toOverlay);
      assert.equal(trace.srcIdentity, EP_IDENTITY);
      assert.equal(trace.dstIdentity, 300);
      assert.equal(out({ src: EP_IP6, dst: PEER6, protocol: 'tcp', sport: 40101, dport: 80 }), TC_ACT_OK, 'no host IP in the ipcache: native');
      assert.equal(out({ src: EP_IP, dst: STRANGER, protocol: 'tcp', sport: 40102, dport: 80 }), TC_ACT_OK, 'not in the ipcache: native');
      dp.setTunnel({ ifindex: 1, localIpv4: '192.168.0.2' });
      assert.equal(out({ src: EP_IP, dst: PEER, protocol: 'tcp', sport: 40103, dport: 80 }), TC_ACT_OK, 'hosted by this node: native');
    } finally {
      dp.setTunnel(undefined);
    }
    assert.equal(out({ src: EP_IP, dst: PEER, protocol: 'tcp', sport: 40104, dport: 80 }), TC_ACT_OK, 'tunnel off: native');
  });

  test('tunnel mode over an IPv6 underlay: a pod whose node has an IPv6 host address is encapsulated to it', async () => {
    load([], { ingress: false, egress: false });
    const remote = '10.2.9.0/24';
    dp.ipcacheUpsert(remote, 302, 'fd00:192:168:200::2');
    dp.setTunnel({ ifindex: 1, localIpv6: 'fd00:192:168:200::1' });
    try {
      assert.equal(out({ src: EP_IP, dst: '10.2.9.5', protocol: 'tcp', sport: 40110, dport: 80 }), TC_ACT_REDIRECT);
      const trace = await events.waitFor('to-overlay trace', (r) => r.type === EventType.trace && r.subType === TracePoint.toOverlay);
      assert.equal(trace.dstIdentity, 302);
      assert.equal(out({ src: EP_IP6, dst: PEER6, protocol: 'tcp', sport: 40111, dport: 80 }), TC_ACT_OK, 'no host address: native');
      dp.setTunnel({ ifindex: 1, localIpv4: '192.168.0.1', localIpv6: 'fd00:192:168:200::2' });
      assert.equal(out({ src: EP_IP, dst: '10.2.9.5', protocol: 'tcp', sport: 40112, dport: 80 }), TC_ACT_OK, 'hosted by this node: native');
      assert.equal(out({ src: EP_IP, dst: PEER, protocol: 'tcp', sport: 40113, dport: 80 }), TC_ACT_REDIRECT, 'IPv4 host address, same dual-stack config: IPv4 underlay');
    } finally {
      dp.setTunnel(undefined);
      dp.ipcacheDelete(remote);
    }
  });
});
