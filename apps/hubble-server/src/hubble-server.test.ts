import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { status, type ServiceError } from '@grpc/grpc-js';
import { agent, flow, health, observer, peer, timestampFromNanos } from '@cilium-ts/api';
import { encodeEventRecord } from '@cilium-ts/bpf/events';
import { buildPacket, TcpFlags } from '@cilium-ts/bpf/testing/packet-builder';
import { createClient } from '@cilium-ts/grpc';
import { createLogger } from '@cilium-ts/process';
import { startHubbleServer, type RunningHubbleServer } from './hubble-server.js';
import { FakeAgent } from '@cilium-ts/agent/testing';
import { collect, getFlows, waitUntil } from './testing/grpc-helpers.js';

const T0 = 1_700_000_000_000_000_000n;
const SEC = 1_000_000_000n;

const snapshot = {
  endpoints: [
    { id: 101, ipv4: '10.0.1.5', identity: 256, namespace: 'default', podName: 'xwing', labels: ['k8s:app=xwing'], hostIfindex: 7, hostIfname: 'lxcxwing' },
    { id: 102, ipv4: '10.0.1.9', identity: 257, namespace: 'empire', podName: 'deathstar-1', labels: ['k8s:app=deathstar'] },
  ],
  identities: [
    { id: 256, labels: ['k8s:app=xwing'] },
    { id: 300, labels: ['k8s:app=ywing'] },
  ],
  ipcache: [{ cidr: '10.0.2.3/32', identity: 300, namespace: 'rebels', podName: 'ywing-7', nodeName: 'node-2' }],
};

/** The records the tests send, in order, one second apart. */
const records = [
  // 0: xwing -> deathstar TCP SYN, from-endpoint trace at xwing's program.
  encodeEventRecord({
    type: 4, subType: 5, source: 101, egress: true, srcIdentity: 256, dstIdentity: 257, ifindex: 7,
    packet: buildPacket({ src: '10.0.1.5', dst: '10.0.1.9', protocol: 'tcp', sport: 43210, dport: 80, tcpFlags: TcpFlags.syn }),
  }),
  // 1: deathstar -> xwing SYN-ACK reply, to-endpoint trace at xwing's program.
  encodeEventRecord({
    type: 4, subType: 0, source: 101, isReply: true, srcIdentity: 257, dstIdentity: 256, ifindex: 7,
    packet: buildPacket({ src: '10.0.1.9', dst: '10.0.1.5', protocol: 'tcp', sport: 80, dport: 43210, tcpFlags: TcpFlags.syn | TcpFlags.ack }),
  }),
  // 2: remote ywing -> xwing UDP 53 dropped by policy at xwing's to-container program.
  encodeEventRecord({
    type: 1, subType: 133, source: 101, srcIdentity: 300, dstIdentity: 256,
    packet: buildPacket({ src: '10.0.2.3', dst: '10.0.1.5', protocol: 'udp', sport: 5353, dport: 53 }),
  }),
  // 3: xwing -> world ICMPv4 echo request, allowed policy verdict.
  encodeEventRecord({
    type: 5, source: 101, egress: true, allowed: true, matchType: 1, srcIdentity: 256, dstIdentity: 2,
    packet: buildPacket({ src: '10.0.1.5', dst: '8.8.8.8', protocol: 'icmp', icmpType: 8, icmpCode: 0 }),
  }),
];

describe('hubble-server against a fake agent', () => {
  let dir: string;
  let fake: FakeAgent;
  let server: RunningHubbleServer;
  let client: observer.ObserverClient;
  let sent = 0;

  const send = (i: number) => fake.sendRecord(records[i]!, T0 + BigInt(sent++) * SEC);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cts-hubble-server-'));
    fake = await FakeAgent.start(join(dir, 'agent.sock'), { snapshot });
    server = await startHubbleServer({
      agentAddress: fake.target,
      listenAddresses: ['127.0.0.1:0', `unix://${join(dir, 'hubble.sock')}`],
      nodeName: 'node-1',
      clusterName: 'default',
      bufferCapacity: 63,
      logger: createLogger('hubble-server-test', { level: 'error' }),
      agentBackoffMs: 20,
    });
    client = createClient(observer.ObserverClient, server.addresses[0]!);
    await waitUntil('agent subscription and metadata sync', () => server.subscriber.connected && server.metadata.isSynced && fake.subscribers === 1);
    for (let i = 0; i < records.length; i++) send(i);
    await waitUntil('4 buffered flows', () => server.ring.head === 4);
  });

  after(async () => {
    client?.close();
    await server?.stop();
    fake?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('GetFlows decodes every field', async () => {
    const res = await getFlows(client, { number: 20n });
    assert.equal(res.length, 4);
    for (const [i, r] of res.entries()) {
      assert.equal(r.nodeName, 'node-1');
      assert.deepEqual(r.time, timestampFromNanos(T0 + BigInt(i) * SEC));
      assert.deepEqual(r.flow?.time, r.time);
      assert.equal(r.flow?.nodeName, 'node-1');
    }
    const [syn, synAck, drop, icmp] = res.map((r) => r.flow!);
    assert.equal(syn!.verdict, flow.Verdict.FORWARDED);
    assert.deepEqual(syn!.IP, { source: '10.0.1.5', destination: '10.0.1.9', ipVersion: flow.IPVersion.IPv4, encrypted: false });
    assert.deepEqual(syn!.l4?.TCP?.sourcePort, 43210);
    assert.deepEqual(syn!.l4?.TCP?.destinationPort, 80);
    assert.equal(syn!.Summary, 'TCP Flags: SYN');
    assert.equal(syn!.isReply, false);
    assert.deepEqual(syn!.eventType, { type: 4, subType: 5 });
    assert.equal(syn!.traceObservationPoint, flow.TraceObservationPoint.FROM_ENDPOINT);
    assert.equal(syn!.trafficDirection, flow.TrafficDirection.EGRESS);
    assert.deepEqual(syn!.source, flow.Endpoint.fromPartial({ ID: 101, identity: 256, namespace: 'default', podName: 'xwing', labels: ['k8s:app=xwing'] }));
    assert.deepEqual([syn!.destination?.ID, syn!.destination?.identity, syn!.destination?.podName], [102, 257, 'deathstar-1']);
    assert.deepEqual(syn!.interface, { index: 7, name: 'lxcxwing' });
    assert.equal(synAck!.isReply, true);
    assert.equal(synAck!.Summary, 'TCP Flags: SYN, ACK');
    assert.equal(synAck!.l4?.TCP?.flags?.ACK, true);
    assert.equal(synAck!.traceObservationPoint, flow.TraceObservationPoint.TO_ENDPOINT);
    assert.equal(drop!.verdict, flow.Verdict.DROPPED);
    assert.equal(drop!.dropReason, 133);
    assert.equal(drop!.dropReasonDesc, flow.DropReason.POLICY_DENIED);
    assert.equal(drop!.Summary, 'UDP');
    assert.deepEqual([drop!.source?.identity, drop!.source?.namespace, drop!.source?.podName, drop!.source?.labels], [300, 'rebels', 'ywing-7', ['k8s:app=ywing']]);
    assert.equal(drop!.destination?.podName, 'xwing');
    assert.equal(icmp!.Summary, 'ICMPv4 EchoRequest');
    assert.deepEqual(icmp!.l4?.ICMPv4, { type: 8, code: 0 });
    assert.equal(icmp!.policyMatchType, 1);
    assert.deepEqual(icmp!.destination?.labels, ['reserved:world']);
  });

  test('GetFlows: number and since/until select the window', async () => {
    const last2 = await getFlows(client, { number: 2n });
    assert.deepEqual(last2.map((r) => r.flow?.Summary), ['UDP', 'ICMPv4 EchoRequest']);
    const all = await getFlows(client, { number: 18446744073709551615n });
    assert.equal(all.length, 4);
    const window = await getFlows(client, { since: timestampFromNanos(T0 + SEC), until: timestampFromNanos(T0 + 2n * SEC) });
    assert.deepEqual(window.map((r) => r.flow?.Summary), ['TCP Flags: SYN, ACK', 'UDP']);
  });

  test('GetFlows: allowlist and denylist', async () => {
    const dropped = await getFlows(client, { number: 20n, whitelist: [{ verdict: [flow.Verdict.DROPPED] }] });
    assert.deepEqual(dropped.map((r) => r.flow?.verdict), [flow.Verdict.DROPPED]);
    const podEither = await getFlows(client, { number: 20n, whitelist: [{ sourcePod: ['empire/'] }, { destinationPod: ['empire/'] }] });
    assert.equal(podEither.length, 2);
    const notTcp = await getFlows(client, { number: 20n, blacklist: [{ protocol: ['tcp'] }] });
    assert.deepEqual(notTcp.map((r) => r.flow?.Summary), ['UDP', 'ICMPv4 EchoRequest']);
    const lastTwoMatching = await getFlows(client, { number: 2n, whitelist: [{ sourceIp: ['10.0.2.0/24'] }, { sourceLabel: ['k8s:app=deathstar'] }] });
    assert.deepEqual(lastTwoMatching.map((r) => r.flow?.Summary), ['TCP Flags: SYN, ACK', 'UDP']);
  });

  test('GetFlows: invalid filters answer INVALID_ARGUMENT', async () => {
    for (const whitelist of [[{ sourceIp: ['10.0.0.0/40'] }], [{ httpPath: ['(['] }], [{ destinationPort: ['abc'] }]]) {
      await assert.rejects(getFlows(client, { number: 20n, whitelist }), (e: ServiceError) => {
        assert.equal(e.code, status.INVALID_ARGUMENT, e.message);
        assert.match(e.details, /invalid (source_ip|http_path|destination_port) filter/);
        return true;
      });
    }
    const badTimes: [observer.DeepPartial<observer.GetFlowsRequest>, RegExp][] = [
      [{ number: 20n, since: { seconds: 1n, nanos: 2_000_000_000 } }, /invalid "since" timestamp/],
      [{ number: 20n, since: timestampFromNanos(T0 + SEC), until: timestampFromNanos(T0) }, /"until" is before "since"/],
      [{ number: 20n, first: true, follow: true }, /"first" cannot be combined with "follow"/],
    ];
    for (const [req, message] of badTimes) {
      await assert.rejects(getFlows(client, req), (e: ServiceError) => e.code === status.INVALID_ARGUMENT && message.test(e.details));
    }
    assert.equal(server.observer.activeStreams, 0);
  });

  test('GetFlows follow streams new flows; cancelling frees the reader', async () => {
    const stream = client.getFlows(observer.GetFlowsRequest.fromPartial({ follow: true, whitelist: [{ verdict: [flow.Verdict.DROPPED] }] }));
    const got: observer.GetFlowsResponse[] = [];
    stream.on('data', (r: observer.GetFlowsResponse) => got.push(r));
    const ended = new Promise<ServiceError | undefined>((resolve) => {
      stream.on('error', (e: ServiceError) => resolve(e));
      stream.on('end', () => resolve(undefined));
    });
    await waitUntil('follow reader waiting', () => server.ring.waiting === 1);
    send(0);
    send(2);
    await waitUntil('followed drop', () => got.length === 1);
    assert.equal(got[0]!.flow?.verdict, flow.Verdict.DROPPED);
    assert.equal(server.observer.activeStreams, 1);
    stream.cancel();
    const err = await ended;
    assert.equal(err?.code, status.CANCELLED);
    await waitUntil('reader freed', () => server.observer.activeStreams === 0 && server.ring.waiting === 0);
  });

  test('ServerStatus, health and peers', async () => {
    const st = await new Promise<observer.ServerStatusResponse>((resolve, reject) =>
      client.serverStatus(observer.ServerStatusRequest.fromPartial({}), (e, r) => (e ? reject(e) : resolve(r!))),
    );
    assert.equal(st.maxFlows, 63n);
    assert.equal(st.numFlows, BigInt(server.ring.length));
    assert.equal(st.seenFlows, BigInt(server.ring.head));
    assert.ok(st.seenFlows >= 4n);
    assert.ok(st.uptimeNs > 0n);
    assert.equal(st.numConnectedNodes, undefined);
    for (const name of ['observer.Observer', 'peer.Peer', 'grpc.health.v1.Health', 'grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection']) {
      assert.ok(server.grpc.serviceNames.includes(name), name);
    }
    await assert.rejects(
      new Promise((resolve, reject) => client.getNodes(observer.GetNodesRequest.fromPartial({}), (e, r) => (e ? reject(e) : resolve(r)))),
      (e: ServiceError) => e.code === status.UNIMPLEMENTED,
    );
    const hc = createClient(health.HealthClient, server.addresses[1]!);
    try {
      for (const service of ['hubble.server.Observer', '']) {
        const r = await new Promise<health.HealthCheckResponse>((resolve, reject) =>
          hc.check(health.HealthCheckRequest.fromPartial({ service }), (e, v) => (e ? reject(e) : resolve(v!))),
        );
        assert.equal(r.status, health.HealthCheckResponse_ServingStatus.SERVING, service);
      }
    } finally {
      hc.close();
    }
    const pc = createClient(peer.PeerClient, server.addresses[0]!);
    try {
      const stream = pc.notify(peer.NotifyRequest.fromPartial({}));
      const first = await new Promise<peer.ChangeNotification>((resolve, reject) => {
        stream.once('data', resolve);
        stream.once('error', reject);
      });
      assert.deepEqual(first, peer.ChangeNotification.fromPartial({ name: 'node-1', address: server.addresses[0]!, type: peer.ChangeNotificationType.PEER_ADDED }));
      stream.on('error', () => undefined);
      stream.cancel();
    } finally {
      pc.close();
    }
  });

  test('GetAgentEvents returns agent events; GetDebugEvents ends empty', async () => {
    fake.sendAgentEvent(flow.AgentEventType.POLICY_UPDATED, JSON.stringify({ labels: ['k8s:a=b'], revision: 7, ruleCount: 2 }), timestampFromNanos(T0 + 100n * SEC));
    await waitUntil('agent event buffered', () => {
      const last = server.ring.read(server.ring.head - 1);
      return last?.kind === 'agent';
    });
    const events = await collect(client.getAgentEvents(observer.GetAgentEventsRequest.fromPartial({ number: 5n })));
    assert.equal(events.length, 1);
    assert.equal(events[0]!.agentEvent?.type, flow.AgentEventType.POLICY_UPDATED);
    assert.equal(events[0]!.agentEvent?.policyUpdate?.revision, 7n);
    assert.equal(events[0]!.nodeName, 'node-1');
    const debug = await collect(client.getDebugEvents(observer.GetDebugEventsRequest.fromPartial({ number: 5n })));
    assert.deepEqual(debug, []);
    fake.send(agent.MonitorEvent.fromPartial({ time: timestampFromNanos(T0 + 101n * SEC), lost: 5n }));
    await waitUntil('lost event buffered', () => server.ring.read(server.ring.head - 1)?.kind === 'lost');
    const withLost = await getFlows(client, { since: timestampFromNanos(T0 + 50n * SEC) });
    assert.equal(withLost.length, 1);
    assert.equal(withLost[0]!.lostEvents?.numEventsLost, 5n);
    assert.equal(withLost[0]!.lostEvents?.source, flow.LostEventSource.PERF_EVENT_RING_BUFFER);
    assert.equal(withLost[0]!.flow, undefined);
    assert.equal(withLost[0]!.nodeName, 'node-1');
  });

  test('batched records: the server asks for batches, each flow keeps its own stamp, order holds', async () => {
    assert.equal(fake.batchingSubscribers, 1);
    const before = server.ring.head;
    fake.sendBatch([records[3]!, records[0]!, records[2]!], [T0 + 200n * SEC, T0 + 201n * SEC, T0 + 202n * SEC]);
    await waitUntil('3 batched flows', () => server.ring.head === before + 3);
    const got = (await getFlows(client, { since: timestampFromNanos(T0 + 200n * SEC) })).filter((r) => r.flow !== undefined);
    assert.deepEqual(got.map((r) => r.flow?.Summary), ['ICMPv4 EchoRequest', 'TCP Flags: SYN', 'UDP']);
    assert.deepEqual(got.map((r) => r.time), [200n, 201n, 202n].map((s) => timestampFromNanos(T0 + s * SEC)));
    assert.deepEqual(got.map((r) => r.flow?.source?.podName), ['xwing', 'xwing', 'ywing-7']);
  });

  test('resubscribes when the agent restarts', async () => {
    fake.stop();
    await waitUntil('subscription lost', () => !server.subscriber.connected);
    fake = await FakeAgent.start(join(dir, 'agent.sock'), { snapshot });
    await waitUntil('resubscribed', () => fake.subscribers === 1 && server.subscriber.connected && server.metadata.isSynced);
    const before = server.ring.head;
    send(3);
    await waitUntil('flow after restart', () => server.ring.head === before + 1);
    const last = await getFlows(client, { number: 1n });
    assert.equal(last[0]!.flow?.Summary, 'ICMPv4 EchoRequest');
    assert.equal(last[0]!.flow?.source?.podName, 'xwing');
  });
});

describe('hubble-server back-pressure', () => {
  let dir: string;
  let fake: FakeAgent;
  let server: RunningHubbleServer;
  let client: observer.ObserverClient;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cts-hubble-bp-'));
    fake = await FakeAgent.start(join(dir, 'agent.sock'));
    server = await startHubbleServer({
      agentAddress: fake.target,
      listenAddresses: ['127.0.0.1:0'],
      nodeName: 'node-bp',
      clusterName: 'c1',
      bufferCapacity: 4095,
      logger: createLogger('hubble-server-test', { level: 'error' }),
    });
    client = createClient(observer.ObserverClient, server.addresses[0]!);
    const summary = 'x'.repeat(1000);
    for (let i = 0; i < 4095; i++) {
      const time = timestampFromNanos(T0 + BigInt(i));
      server.ring.write({ kind: 'flow', time, nodeName: 'c1/node-bp', flow: flow.Flow.fromPartial({ time, nodeName: 'c1/node-bp', Summary: `${i} ${summary}` }) });
    }
  });

  after(async () => {
    client?.close();
    await server?.stop();
    fake?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('a slow reader of --all gets every flow in order; cancelling while paused frees the reader', async () => {
    const stream = client.getFlows(observer.GetFlowsRequest.fromPartial({ number: 18446744073709551615n }));
    const result = collect(stream);
    stream.pause();
    await waitUntil('server waiting for drain', () => server.observer.backpressureWaits > 0);
    stream.resume();
    const all = await result;
    assert.equal(all.length, 4095);
    assert.ok(all.every((r, i) => r.flow?.Summary.startsWith(`${i} `) && r.nodeName === 'c1/node-bp'));

    const waitsBefore = server.observer.backpressureWaits;
    const slow = client.getFlows(observer.GetFlowsRequest.fromPartial({ number: 0n }));
    const ended = new Promise<ServiceError | undefined>((resolve) => {
      slow.on('error', (e: ServiceError) => resolve(e));
      slow.on('end', () => resolve(undefined));
    });
    slow.pause();
    await waitUntil('second stream blocked', () => server.observer.backpressureWaits > waitsBefore);
    assert.equal(server.observer.activeStreams, 1);
    slow.cancel();
    assert.equal((await ended)?.code, status.CANCELLED);
    await waitUntil('blocked reader freed', () => server.observer.activeStreams === 0);
  });
});
