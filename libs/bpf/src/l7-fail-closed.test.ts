// L7 fail-closed on the real kernel (BPF_PROG_RUN): a policy verdict that carries a proxy
// port drops with DropReason.noConfig until a proxy_ready entry exists, then redirects.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Datapath } from './datapath.js';
import type { EventReader } from './event-reader.js';
import { reasonText } from './event-names.js';
import { DropReason, EventType, TracePoint } from './event-record.js';
import type { PolicyEntry } from './map-codecs.js';
import { buildPacket, TcpFlags } from './testing/packet-builder.js';
import { EventCollector, needsRoot, uniqueName } from './testing/test-support.js';

const TC_ACT_OK = 0;
const TC_ACT_SHOT = 2;
const TC_ACT_REDIRECT = 7;
const EP = 9;
const EP_IDENTITY = 1000;
const EP_IP = '10.1.0.9';
const PEER = '10.2.0.1'; // identity 300
const PROXY = 10001; // the ingress http listener (libs/policy proxyPortFor)
const MARK_TO_PROXY = (0x0200 | (PROXY << 16)) >>> 0;

const l7 = (port: number): PolicyEntry => ({ direction: 'ingress', identity: 300, protocol: 6, port, deny: false, proxyPort: PROXY });
const l4 = (port: number): PolicyEntry => ({ direction: 'ingress', identity: 300, protocol: 6, port, deny: false });

describe('L7 fail-closed: proxy redirects without a ready proxy', needsRoot, () => {
  const pinDir = `/sys/fs/bpf/${uniqueName('l7fc')}`;
  let dp: Datapath;
  let reader: EventReader;
  let events: EventCollector;
  const load = (policy: PolicyEntry[]): void => {
    dp.loadEndpoint({ id: EP, identity: EP_IDENTITY, hostIfindex: 42, ipv4: EP_IP, ingressEnforced: true, egressEnforced: true }, policy);
  };
  const into = (spec: Parameters<typeof buildPacket>[0]): number => dp.testRun(EP, 'to-container', buildPacket(spec)).retval;
  const dropped = (reason: number): bigint => dp.metricsList().find((m) => m.reason === reason && m.direction === 'ingress')?.packets ?? 0n;
  const ctOf = (dport: number, sport: number) => dp.ctList().find((e) => e.endpointId === EP && e.dport === dport && e.sport === sport);

  before(async () => {
    Datapath.removePins(pinDir);
    dp = await Datapath.open({ pinDir, ctGcIntervalMs: 0 });
    dp.ipcacheUpsert('10.2.0.0/24', 300);
    reader = dp.events({ pollMs: 50 });
    events = new EventCollector(reader);
    await reader.ready();
  });
  beforeEach(() => {
    dp.ctFlush();
    for (const r of dp.proxyReadyList()) dp.proxyReadyDelete(r.endpointId, r.proxyPort);
    events.clear();
  });
  after(async () => {
    await reader?.close();
    dp?.close();
    Datapath.removePins(pinDir);
  });

  test('a SYN to the L7 port is dropped (reason 165, event, counter, no CT entry); an L4-only port still passes', async () => {
    load([l7(80), l4(81)]);
    const before165 = dropped(DropReason.noConfig);
    assert.equal(into({ src: PEER, dst: EP_IP, protocol: 'tcp', sport: 41000, dport: 80, tcpFlags: TcpFlags.syn }), TC_ACT_SHOT);
    const drop = await events.waitFor('the fail-closed drop', (r) => r.type === EventType.drop);
    assert.equal(drop.subType, DropReason.noConfig);
    assert.equal(reasonText(drop.subType), 'No configuration available to perform policy decision');
    assert.equal(drop.srcIdentity, 300);
    assert.equal(drop.dstIdentity, EP_IDENTITY);
    const verdict = await events.waitFor('the policy verdict', (r) => r.type === EventType.policyVerdict && r.matchedPort === 80);
    assert.equal(verdict.allowed, false);
    assert.equal(verdict.redirected, false);
    assert.equal(verdict.verdictDropReason, DropReason.noConfig);
    assert.equal(dropped(DropReason.noConfig), before165 + 1n);
    assert.equal(ctOf(80, 41000), undefined, 'a fail-closed drop creates no CT entry');
    assert.equal(into({ src: PEER, dst: EP_IP, protocol: 'tcp', sport: 41000, dport: 80, tcpFlags: TcpFlags.ack }), TC_ACT_SHOT, 'nothing let through at L4 afterwards');
    assert.equal(into({ src: PEER, dst: EP_IP, protocol: 'tcp', sport: 41001, dport: 81, tcpFlags: TcpFlags.syn }), TC_ACT_OK);
  });

  test('a denied verdict says its own reason: 133 without a match, 181 for a deny, even beside an L7 allow', async () => {
    load([l7(80), { direction: 'ingress', identity: 0, protocol: 6, port: 80, deny: true }]);
    assert.equal(into({ src: PEER, dst: EP_IP, protocol: 'tcp', sport: 41010, dport: 80, tcpFlags: TcpFlags.syn }), TC_ACT_SHOT);
    assert.equal(into({ src: PEER, dst: EP_IP, protocol: 'tcp', sport: 41011, dport: 82, tcpFlags: TcpFlags.syn }), TC_ACT_SHOT);
    const v80 = await events.waitFor('verdict 80', (r) => r.type === EventType.policyVerdict && r.matchedPort === 80);
    const v82 = await events.waitFor('verdict 82', (r) => r.type === EventType.policyVerdict && r.matchedPort === 82);
    assert.deepEqual([v80.verdictDropReason, v82.verdictDropReason], [DropReason.policyDeny, DropReason.policy]);
    const drops = events.records.filter((r) => r.type === EventType.drop).map((r) => r.subType);
    assert.deepEqual(drops, [DropReason.policyDeny, DropReason.policy], 'deny wins over the L7 allow');
  });

  test('an established connection whose policy becomes an L7 rule is dropped and its CT entry removed', () => {
    load([l4(82)]);
    const syn = { src: PEER, dst: EP_IP, protocol: 'tcp' as const, sport: 41020, dport: 82, tcpFlags: TcpFlags.syn };
    const ack = { ...syn, tcpFlags: TcpFlags.ack };
    assert.equal(into(syn), TC_ACT_OK);
    assert.equal(into(ack), TC_ACT_OK);
    assert.ok(ctOf(82, 41020));
    dp.updatePolicy(EP, [l7(82)]);
    assert.equal(into(ack), TC_ACT_SHOT);
    assert.equal(ctOf(82, 41020), undefined);
  });

  test('with a proxy_ready entry the verdict is a redirect (mark, device, to-proxy trace, CT proxy port); without it drops again', async () => {
    load([l7(80)]);
    const syn = buildPacket({ src: PEER, dst: EP_IP, protocol: 'tcp', sport: 41030, dport: 80, tcpFlags: TcpFlags.syn });
    dp.proxyReadySet(EP, PROXY, { ifindex: 1 });
    assert.deepEqual(dp.proxyReadyList(), [{ endpointId: EP, proxyPort: PROXY, ifindex: 1 }]);
    const run = dp.testRun(EP, 'to-container', syn, { ctx: {} });
    assert.equal(run.retval, TC_ACT_REDIRECT);
    assert.equal(run.markOut, MARK_TO_PROXY);
    const trace = await events.waitFor('to-proxy trace', (r) => r.type === EventType.trace);
    assert.equal(trace.subType, TracePoint.toProxy);
    const verdict = await events.waitFor('redirect verdict', (r) => r.type === EventType.policyVerdict && r.allowed);
    assert.equal(verdict.redirected, true);
    assert.equal(ctOf(80, 41030)?.proxyPort, PROXY);
    assert.equal(dp.proxyReadyDelete(EP, PROXY), true);
    assert.equal(dp.testRun(EP, 'to-container', buildPacket({ src: PEER, dst: EP_IP, protocol: 'tcp', sport: 41030, dport: 80, tcpFlags: TcpFlags.ack })).retval, TC_ACT_SHOT, 'the established redirect drops once the proxy is gone');
  });

  test('ingress at to-container, a ready proxy without a device: back into the node stack through the host veth\'s ingress, addressed to the veth; from-container lets that marked packet pass', () => {
    load([l7(80)]);
    const syn = buildPacket({ src: PEER, dst: EP_IP, protocol: 'tcp', sport: 41035, dport: 80, tcpFlags: TcpFlags.syn });
    assert.equal(dp.testRun(EP, 'to-container', syn, { ctx: {} }).retval, TC_ACT_SHOT, 'no proxy ready: closed');
    dp.proxyReadySet(EP, PROXY, { ifindex: 0 });
    const run = dp.testRun(EP, 'to-container', syn, { ctx: {} });
    assert.equal(run.retval, TC_ACT_REDIRECT);
    assert.equal(run.markOut, MARK_TO_PROXY);
    assert.deepEqual(run.dataOut.subarray(0, 6), syn.subarray(6, 12), 'destination MAC = the frame\'s source (the host veth)');
    assert.deepEqual(run.dataOut.subarray(6), syn.subarray(6), 'the rest of the frame is unchanged');
    // Entering from-container (the veth's ingress) with the mark it passes untouched; without
    // it, it is a packet of the pod, which the pod's enforced egress (nothing allowed) drops.
    assert.equal(dp.testRun(EP, 'from-container', run.dataOut, { ctx: {} }).retval, TC_ACT_SHOT);
    const back = dp.testRun(EP, 'from-container', run.dataOut, { ctx: { mark: MARK_TO_PROXY } });
    assert.equal(back.retval, TC_ACT_OK);
    assert.equal(back.markOut, MARK_TO_PROXY, 'the mark stays for TPROXY');
    assert.equal(dp.proxyReadyDelete(EP, PROXY), true);
  });

  test('egress: a ready proxy without a device hands the packet to the node stack with the mark', () => {
    load([{ direction: 'egress', identity: 300, protocol: 6, port: 80, deny: false, proxyPort: 10002 }]);
    const syn = buildPacket({ src: EP_IP, dst: PEER, protocol: 'tcp', sport: 41040, dport: 80, tcpFlags: TcpFlags.syn });
    assert.equal(dp.testRun(EP, 'from-container', syn).retval, TC_ACT_SHOT);
    dp.proxyReadySet(EP, 10002, { ifindex: 0 });
    const run = dp.testRun(EP, 'from-container', syn, { ctx: {} });
    assert.equal(run.retval, TC_ACT_OK);
    assert.equal(run.markOut, (0x0200 | (10002 << 16)) >>> 0);
  });

  test('a new endpoint on a detached endpoint\'s id starts with no proxy ready', async () => {
    load([l7(80)]);
    dp.proxyReadySet(EP, PROXY, { ifindex: 1 });
    await dp.detachEndpoint({ id: EP, hostIfname: 'cts-none', netns: '/nonexistent' });
    assert.deepEqual(dp.proxyReadyList(), []);
    load([l7(80)]);
    assert.equal(into({ src: PEER, dst: EP_IP, protocol: 'tcp', sport: 41050, dport: 80, tcpFlags: TcpFlags.syn }), TC_ACT_SHOT);
  });
});
