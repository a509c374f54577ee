import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Datapath } from './datapath.js';
import type { EventReader } from './event-reader.js';
import { DropReason, EventType, MatchType, TracePoint, type EventRecord } from './event-record.js';
import type { PolicyEntry } from './map-codecs.js';
import { buildPacket, TcpFlags, type PacketSpec } from './testing/packet-builder.js';
import { EventCollector, needsRoot, uniqueName } from './testing/test-support.js';

// BPF_PROG_RUN of local delivery: endpoint A's from-container tail-calls endpoint B's
// to-container-local (policy_calls), which applies B's ingress side and returns
// bpf_redirect_peer's TC_ACT_REDIRECT. Events of B's side carry B's id and ifindex.
const TC_ACT_SHOT = 2;
const TC_ACT_REDIRECT = 7;
const A = { id: 41, identity: 4100, ip: '10.41.0.2', ip6: 'fd41::2', ifindex: 4141 };
const B = { id: 42, identity: 4200, ip: '10.41.0.3', ip6: 'fd41::3', ifindex: 4242 };
const allowA80: PolicyEntry = { direction: 'ingress', identity: A.identity, protocol: 6, port: 80, deny: false };

describe('BPF_PROG_RUN: local delivery through the destination\'s to-container-local', needsRoot, () => {
  const pinDir = `/sys/fs/bpf/${uniqueName('local')}`;
  let dp: Datapath;
  let reader: EventReader;
  let events: EventCollector;
  const load = (ep: typeof A, policy: PolicyEntry[], on = dp): void => {
    on.loadEndpoint({ id: ep.id, identity: ep.identity, hostIfindex: ep.ifindex, ipv4: ep.ip, ipv6: ep.ip6, ingressEnforced: true, egressEnforced: false }, policy);
  };
  const send = (from: typeof A, spec: PacketSpec): number => dp.testRun(from.id, 'from-container', buildPacket(spec)).retval;
  const bSide = (r: EventRecord): boolean => r.source === B.id;

  before(async () => {
    Datapath.removePins(pinDir);
    dp = await Datapath.open({ pinDir, ctGcIntervalMs: 0, localDelivery: 'peer' });
    for (const ep of [A, B]) {
      for (const ip of [ep.ip, ep.ip6]) {
        dp.ipcacheUpsert(ip, ep.identity);
        dp.endpointsMapUpsert(ip, { endpointId: ep.id, ifindex: ep.ifindex, identity: ep.identity });
      }
    }
    reader = dp.events({ pollMs: 50 });
    events = new EventCollector(reader);
    await reader.ready();
  });
  beforeEach(() => {
    dp.ctFlush();
    events.clear();
    load(A, []);
    load(B, [allowA80]);
  });
  after(async () => {
    await reader?.close();
    dp?.close();
    Datapath.removePins(pinDir);
  });

  test('loading an endpoint registers its to-container-local for local senders', () => {
    for (const ep of [A, B]) {
      const id = dp.localDeliveryProgramId(ep.id);
      assert.ok(id);
      assert.equal(id, dp.pinnedProgram(ep.id, 'to-container-local')?.id);
    }
  });

  test('allowed by the destination\'s ingress policy: redirected, with both sides\' CT entries and events', async () => {
    assert.equal(send(A, { src: A.ip, dst: B.ip, protocol: 'tcp', sport: 45000, dport: 80 }), TC_ACT_REDIRECT);
    const ct = dp.ctList().map((e) => `${e.endpointId}/${e.direction}/${e.saddr}:${e.sport}->${e.daddr}:${e.dport}/${e.peerIdentity}`).sort();
    assert.deepEqual(ct, [`${A.id}/egress/${A.ip}:45000->${B.ip}:80/${B.identity}`, `${B.id}/ingress/${A.ip}:45000->${B.ip}:80/${A.identity}`]);
    const from = await events.waitFor('from-endpoint trace of A', (r) => r.type === EventType.trace && r.source === A.id);
    assert.equal(from.subType, TracePoint.fromEndpoint);
    assert.equal(from.dstEndpoint, B.id);
    const to = await events.waitFor('to-endpoint trace of B', (r) => r.type === EventType.trace && bSide(r));
    assert.equal(to.subType, TracePoint.toEndpoint);
    assert.equal(to.egress, false);
    assert.equal(to.srcIdentity, A.identity);
    assert.equal(to.dstIdentity, B.identity);
    assert.equal(to.dstEndpoint, B.id);
    assert.equal(to.ifindex, B.ifindex, 'reported on the destination\'s host veth');
    const verdict = await events.waitFor('B\'s policy verdict', (r) => r.type === EventType.policyVerdict && bSide(r));
    assert.deepEqual([verdict.allowed, verdict.matchType, verdict.matchedPort, verdict.egress], [true, MatchType.l3l4, 80, false]);
    assert.ok(events.records.findIndex((r) => r === from) < events.records.findIndex((r) => r === to), 'from-endpoint before to-endpoint');
    const fwd = dp.metricsList().find((m) => m.reason === 0 && m.direction === 'ingress');
    assert.ok(fwd && fwd.packets >= 1n, 'counted as forwarded on ingress');
  });

  test('denied by the destination\'s ingress policy: dropped by the sender\'s hook, reported by the destination', async () => {
    assert.equal(send(A, { src: A.ip, dst: B.ip, protocol: 'tcp', sport: 45001, dport: 81 }), TC_ACT_SHOT);
    const drop = await events.waitFor('B\'s drop', (r) => r.type === EventType.drop);
    assert.equal(drop.source, B.id);
    assert.equal(drop.subType, DropReason.policy);
    assert.equal(drop.egress, false);
    assert.equal(drop.srcIdentity, A.identity);
    assert.equal(drop.dstEndpoint, B.id);
    assert.equal(drop.ifindex, B.ifindex);
    assert.deepEqual(dp.ctList().map((e) => `${e.endpointId}/${e.direction}`), [`${A.id}/egress`], 'no ingress entry for a denied connection');
    load(B, [allowA80, { direction: 'ingress', identity: 0, protocol: 6, port: 80, deny: true }]);
    assert.equal(send(A, { src: A.ip, dst: B.ip, protocol: 'tcp', sport: 45002, dport: 80 }), TC_ACT_SHOT);
    await events.waitFor('deny drop', (r) => r.type === EventType.drop && r.subType === DropReason.policyDeny && bSide(r));
  });

  test('reply traffic: the destination\'s reply reaches the sender through the sender\'s to-container-local as a reply', async () => {
    const syn = { src: A.ip, dst: B.ip, protocol: 'tcp', sport: 45003, dport: 80 } as const;
    assert.equal(send(A, syn), TC_ACT_REDIRECT);
    events.clear();
    const synAck = { src: B.ip, dst: A.ip, protocol: 'tcp', sport: 80, dport: 45003, tcpFlags: TcpFlags.syn | TcpFlags.ack } as const;
    assert.equal(send(B, synAck), TC_ACT_REDIRECT);
    const back = await events.waitFor('to-endpoint trace at A', (r) => r.type === EventType.trace && r.source === A.id && r.subType === TracePoint.toEndpoint);
    assert.equal(back.isReply, true);
    assert.equal(back.srcIdentity, B.identity);
    assert.equal(back.ifindex, A.ifindex);
    assert.equal(events.records.filter((r) => r.type === EventType.policyVerdict).length, 0, 'replies are not policy-checked');
    const aEntry = dp.ctList().find((e) => e.endpointId === A.id);
    assert.equal(aEntry?.seenReply, true, 'A\'s egress entry saw the reply');
    // A's ingress is enforced with an empty policy: a new connection from B is dropped at A.
    assert.equal(send(B, { src: B.ip, dst: A.ip, protocol: 'tcp', sport: 45004, dport: 80 }), TC_ACT_SHOT);
    const drop = await events.waitFor('drop at A', (r) => r.type === EventType.drop);
    assert.equal(drop.source, A.id);
  });

  test('IPv6: allowed, denied and reply', async () => {
    assert.equal(send(A, { src: A.ip6, dst: B.ip6, protocol: 'tcp', sport: 45005, dport: 80 }), TC_ACT_REDIRECT);
    assert.equal(send(B, { src: B.ip6, dst: A.ip6, protocol: 'tcp', sport: 80, dport: 45005, tcpFlags: TcpFlags.syn | TcpFlags.ack }), TC_ACT_REDIRECT);
    assert.equal(send(A, { src: A.ip6, dst: B.ip6, protocol: 'tcp', sport: 45006, dport: 81 }), TC_ACT_SHOT);
    const drop = await events.waitFor('IPv6 drop at B', (r) => r.type === EventType.drop && bSide(r));
    assert.equal(drop.ipv6, true);
    const to = await events.waitFor('IPv6 to-endpoint at B', (r) => r.type === EventType.trace && bSide(r));
    assert.equal(to.ipv6, true);
    assert.equal(dp.ctList().filter((e) => e.family === 6).length, 2 + 1, 'A egress + B ingress of the allowed one, A egress of the denied one');
  });

  test('localDelivery \'neigh\': no program registered; the sender redirects to the host veth and the destination\'s events wait for its to-container', async () => {
    const neigh = await Datapath.open({ pinDir, ctGcIntervalMs: 0, localDelivery: 'neigh' });
    try {
      load(B, [allowA80], neigh);
      assert.equal(dp.localDeliveryProgramId(B.id), undefined);
      assert.equal(send(A, { src: A.ip, dst: B.ip, protocol: 'tcp', sport: 45007, dport: 81 }), TC_ACT_REDIRECT, 'bpf_redirect_neigh, no policy of B applied yet');
      await events.waitFor('A\'s trace', (r) => r.type === EventType.trace && r.source === A.id);
      assert.equal(events.records.filter(bSide).length, 0);
      assert.deepEqual(dp.ctList().map((e) => e.endpointId), [A.id]);
    } finally {
      neigh.close();
    }
  });
});
