import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Datapath } from './datapath.js';
import { debugMessage, DebugType } from './debug-message.js';
import type { EventReader } from './event-reader.js';
import { DropReason, EventType, type EventRecord } from './event-record.js';
import type { PolicyEntry } from './map-codecs.js';
import { buildPacket, type PacketSpec } from './testing/packet-builder.js';
import { EventCollector, needsRoot, uniqueName } from './testing/test-support.js';

// BPF_PROG_RUN of the debug messages (event type 2): an endpoint with the debug bit in
// ep_flags gets Cilium-style DBG_* records at its CT lookups, policy decisions, local
// delivery and encap / decap; an endpoint without it gets none.
const TC_ACT_REDIRECT = 7;
const OVERLAY_MAGIC = 0x6f766c79; // from-overlay's hand-off in skb->cb[0] (datapath.c)
const A = { id: 61, identity: 6100, ip: '10.61.0.2', ip6: 'fd61::2', ifindex: 6161 };
const B = { id: 62, identity: 6200, ip: '10.61.0.3', ip6: 'fd61::3', ifindex: 6262 };
const REMOTE = { ip: '10.62.0.9', identity: 6900, node: '192.168.61.2', nodeNum: 0xc0a83d02, tunnelIfindex: 77 };
const allowA80: PolicyEntry = { direction: 'ingress', identity: A.identity, protocol: 6, port: 80, deny: false };
const num = (ip: string): number => ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
/** Cilium's MARK_MAGIC_IDENTITY mark of an identity (datapath.c identity_mark). */
const identityMark = (id: number): number => (((id & 0xffff) << 16) | ((id & 0xff0000) >>> 16) | 0x0f00) >>> 0;

describe('BPF_PROG_RUN: debug messages of endpoints with the debug flag', needsRoot, () => {
  const pinDir = `/sys/fs/bpf/${uniqueName('dbg')}`;
  let dp: Datapath;
  let reader: EventReader;
  let events: EventCollector;
  const send = (from: typeof A, spec: PacketSpec): number => dp.testRun(from.id, 'from-container', buildPacket(spec)).retval;
  const debugOf = (ep: typeof A): EventRecord[] => events.records.filter((r) => r.type === EventType.debug && r.source === ep.id);
  /** Sends A -> B:81 from sport and waits for B's policy drop of it: every record emitted before it has arrived too. */
  const sentinel = async (sport: number): Promise<void> => {
    send(A, { src: A.ip, dst: B.ip, protocol: 'tcp', sport, dport: 81 });
    // The drop of exactly this packet (IPv4 TCP from sport), not an earlier drop at B.
    await events.waitFor('sentinel drop at B', (r) => r.type === EventType.drop && r.source === B.id && r.subType === DropReason.policy &&
      r.packet.length >= 38 && r.packet[23] === 6 && r.packet.readUInt16BE(34) === sport);
  };

  before(async () => {
    Datapath.removePins(pinDir);
    dp = await Datapath.open({ pinDir, ctGcIntervalMs: 0, localDelivery: 'peer' });
    for (const ep of [A, B]) {
      for (const ip of [ep.ip, ep.ip6]) {
        dp.ipcacheUpsert(ip, ep.identity);
        dp.endpointsMapUpsert(ip, { endpointId: ep.id, ifindex: ep.ifindex, identity: ep.identity });
      }
    }
    dp.ipcacheUpsert(REMOTE.ip, REMOTE.identity, REMOTE.node);
    reader = dp.events({ pollMs: 50 });
    events = new EventCollector(reader);
    await reader.ready();
  });
  beforeEach(() => {
    dp.ctFlush();
    for (const ep of [A, B]) {
      dp.loadEndpoint({ id: ep.id, identity: ep.identity, hostIfindex: ep.ifindex, ipv4: ep.ip, ipv6: ep.ip6, ingressEnforced: true, egressEnforced: false }, ep === B ? [allowA80] : []);
      dp.setEndpointDebug(ep.id, false);
    }
    events.clear();
  });
  after(async () => {
    await reader?.close();
    dp?.close();
    Datapath.removePins(pinDir);
  });

  test('the flag is set and cleared per endpoint and survives policy updates', () => {
    dp.setEndpointDebug(A.id, true);
    assert.equal(dp.endpointDebug(A.id), true);
    assert.equal(dp.endpointDebug(B.id), false);
    dp.updatePolicy(A.id, [allowA80]);
    assert.equal(dp.endpointDebug(A.id), true);
    assert.deepEqual(dp.enforcement(A.id), { ingress: true, egress: false });
    dp.setEndpointDebug(A.id, false);
    assert.equal(dp.endpointDebug(A.id), false);
    assert.deepEqual(dp.enforcement(A.id), { ingress: true, egress: false });
  });

  test('flag off: no debug record at any point', async () => {
    dp.setTunnel({ ifindex: REMOTE.tunnelIfindex, localIpv4: '192.168.61.1' });
    try {
      assert.equal(send(A, { src: A.ip, dst: B.ip, protocol: 'tcp', sport: 45000, dport: 80 }), TC_ACT_REDIRECT);
      send(B, { src: B.ip, dst: A.ip, protocol: 'tcp', sport: 80, dport: 45000 });
      send(A, { src: A.ip6, dst: B.ip6, protocol: 'tcp', sport: 45000, dport: 80 });
      assert.equal(send(A, { src: A.ip, dst: REMOTE.ip, protocol: 'tcp', sport: 45000, dport: 80 }), TC_ACT_REDIRECT);
      dp.testRun(B.id, 'to-container-local', buildPacket({ src: REMOTE.ip, dst: B.ip, protocol: 'udp', sport: 5000, dport: 53 }), { ctx: { cb: [OVERLAY_MAGIC, REMOTE.identity, REMOTE.nodeNum] } });
      await sentinel(45001);
      assert.deepEqual(events.records.filter((r) => r.type === EventType.debug).map((r) => r.subType), []);
    } finally {
      dp.setTunnel(undefined);
    }
  });

  test('sender on: CT lookup, CT created and local delivery from its from-container (destination off: nothing)', async () => {
    dp.setEndpointDebug(A.id, true);
    assert.equal(send(A, { src: A.ip, dst: B.ip, protocol: 'tcp', sport: 45000, dport: 80 }), TC_ACT_REDIRECT);
    await sentinel(45001);
    const first = debugOf(A).slice(0, 4); // the sentinel's records follow
    assert.deepEqual(first.map((r) => r.subType), [DebugType.ctLookup4First, DebugType.ctLookup4Second, DebugType.ctCreated4, DebugType.localDelivery]);
    assert.deepEqual(first[0].args, [num(A.ip), num(B.ip), ((45000 << 16) | 80) >>> 0]);
    assert.deepEqual(first[1].args, [6, 1, 0], 'TCP, egress, new');
    assert.deepEqual(first[2].args, [B.identity, 0, 1], 'peer identity, proxy port, egress');
    assert.deepEqual(first[3].args, [B.id, A.identity, B.ifindex]);
    for (const r of first) {
      assert.equal(r.egress, true);
      assert.equal(r.capLen, 0);
      assert.equal(r.version, 1);
      assert.notEqual(r.hash, 0, 'the packet hash');
    }
    assert.equal(debugMessage(first[0]), 'Conntrack lookup 1/2: src=10.61.0.2:45000 dst=10.61.0.3:80');
    assert.equal(debugMessage(first[3]), `Attempting local delivery for container id ${B.id} from seclabel ${A.identity}`);
    assert.deepEqual(debugOf(B), [], 'B has no debug flag');
  });

  test('destination on: policy allowed (DBG_L4_POLICY) and denied (DBG_POLICY_DENIED) with identities, port and protocol', async () => {
    dp.setEndpointDebug(B.id, true);
    send(A, { src: A.ip, dst: B.ip, protocol: 'tcp', sport: 45000, dport: 80 });
    await sentinel(45001);
    const b = debugOf(B);
    assert.deepEqual(b.map((r) => r.subType), [
      DebugType.ctLookup4First, DebugType.ctLookup4Second, DebugType.l4Policy, DebugType.ctCreated4,
      DebugType.ctLookup4First, DebugType.ctLookup4Second, DebugType.policyDenied,
    ]);
    assert.deepEqual(b[2].args, [A.identity, B.identity, (80 << 16) | 6]);
    assert.deepEqual(b[3].args, [A.identity, 0, 0], 'peer identity, proxy port, ingress');
    assert.deepEqual(b[6].args, [A.identity, B.identity, (81 << 16) | 6]);
    assert.equal(b[2].ifindex, B.ifindex, 'on the destination\'s host veth');
    assert.equal(b[2].egress, false);
    assert.equal(debugMessage(b[6]), `Policy evaluation would deny packet from ${A.identity} to ${B.identity} (TCP/81)`);
    assert.deepEqual(debugOf(A), []);
  });

  test('a reply: DBG_CT_MATCH with the reply state and the peer identity', async () => {
    send(A, { src: A.ip, dst: B.ip, protocol: 'tcp', sport: 45000, dport: 80 });
    dp.setEndpointDebug(B.id, true);
    events.clear();
    assert.equal(send(B, { src: B.ip, dst: A.ip, protocol: 'tcp', sport: 80, dport: 45000 }), TC_ACT_REDIRECT);
    await sentinel(45001);
    const b = debugOf(B).filter((r) => r.egress);
    assert.deepEqual(b.map((r) => r.subType), [DebugType.ctLookup4First, DebugType.ctLookup4Second, DebugType.ctMatch, DebugType.localDelivery]);
    assert.deepEqual(b[1].args, [6, 1, 2], 'TCP, egress, reply');
    assert.deepEqual(b[2].args, [2, A.identity, 0]);
    assert.equal(b[2].isReply, true);
    assert.deepEqual(b[3].args, [A.id, B.identity, A.ifindex]);
  });

  test('IPv6: DBG_CT_LOOKUP6_1 with the addresses\' last 32 bits and DBG_CT_CREATED6', async () => {
    dp.setEndpointDebug(A.id, true);
    send(A, { src: A.ip6, dst: B.ip6, protocol: 'tcp', sport: 45000, dport: 80 });
    await sentinel(45001);
    const a = debugOf(A).filter((r) => r.ipv6);
    assert.deepEqual(a.map((r) => r.subType), [DebugType.ctLookup6First, DebugType.ctLookup6Second, DebugType.ctCreated6, DebugType.localDelivery]);
    assert.deepEqual(a[0].args, [2, 3, ((45000 << 16) | 80) >>> 0]);
  });

  test('encap: DBG_ENCAP with the remote node, the VNI and the tunnel device', async () => {
    dp.setTunnel({ ifindex: REMOTE.tunnelIfindex, localIpv4: '192.168.61.1' });
    try {
      dp.setEndpointDebug(A.id, true);
      assert.equal(send(A, { src: A.ip, dst: REMOTE.ip, protocol: 'tcp', sport: 45000, dport: 80 }), TC_ACT_REDIRECT);
      await sentinel(45001);
      const encap = debugOf(A).filter((r) => r.subType === DebugType.encap);
      assert.equal(encap.length, 1);
      assert.deepEqual(encap[0].args, [REMOTE.nodeNum, A.identity, REMOTE.tunnelIfindex]);
      assert.equal(debugMessage(encap[0]), `Encapsulating to node ${REMOTE.node} (0x${REMOTE.nodeNum.toString(16)}) from seclabel ${A.identity}`);
    } finally {
      dp.setTunnel(undefined);
    }
  });

  test('decap: DBG_DECAP with the VNI and the remote node (from-overlay hand-off) or the identity mark', async () => {
    dp.setEndpointDebug(B.id, true);
    const pkt = buildPacket({ src: REMOTE.ip, dst: B.ip, protocol: 'udp', sport: 5000, dport: 53 });
    dp.testRun(B.id, 'to-container-local', pkt, { ctx: { cb: [OVERLAY_MAGIC, REMOTE.identity, REMOTE.nodeNum] } });
    dp.testRun(B.id, 'to-container', pkt, { ctx: { mark: identityMark(REMOTE.identity) } });
    dp.testRun(B.id, 'to-container', buildPacket({ src: A.ip, dst: B.ip, protocol: 'udp', sport: 5001, dport: 53 })); // no mark: no decap
    await sentinel(45001);
    const decap = debugOf(B).filter((r) => r.subType === DebugType.decap);
    assert.deepEqual(decap.map((r) => r.args), [[REMOTE.identity, REMOTE.nodeNum, 0], [REMOTE.identity, 0, 0]], debugOf(B).map((r) => debugMessage(r)).join('; '));
    assert.equal(debugMessage(decap[0]), `Tunnel decap: id ${REMOTE.identity} from node ${REMOTE.node}`);
  });
});
