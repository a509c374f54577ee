import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { credentials, Metadata, status as Status } from '@grpc/grpc-js';
import { health, observer, peer, relay as relayApi } from '@cilium-ts/api';
import { createLogger } from '@cilium-ts/process';
import { startRelay, type Relay } from './relay.js';
import { eventually, FakeHubble, tempDir } from './testing/fake-hubble.js';

const quiet = createLogger('hubble-relay-test', { level: 'error' });

function collect(client: observer.ObserverClient, req: Partial<observer.GetFlowsRequest>, md = new Metadata()) {
  const stream = client.getFlows(observer.GetFlowsRequest.fromPartial(req as never), md);
  const got: observer.GetFlowsResponse[] = [];
  const done = new Promise<{ code: number; details: string }>((resolve) => {
    let status: { code: number; details: string } | undefined;
    let ended = false;
    const check = (): void => {
      if (status && (ended || status.code !== Status.OK)) resolve(status);
    };
    stream.on('data', (r: observer.GetFlowsResponse) => got.push(r));
    stream.on('error', () => {});
    stream.on('end', () => {
      ended = true;
      check();
    });
    stream.on('status', (s) => {
      status = s;
      check();
    });
  });
  return { stream, got, done };
}

function unary<T>(fn: (cb: (err: Error | null, res: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, res) => (err ? reject(err) : resolve(res))));
}

describe('hubble-relay against fake hubble-servers', () => {
  const tmp = tempDir('cts-relay-test-');
  const a = new FakeHubble('node-a', join(tmp.dir, 'a.sock'));
  const b = new FakeHubble('node-b', join(tmp.dir, 'b.sock'));
  const c = new FakeHubble('node-c', join(tmp.dir, 'c.sock'));
  let relay: Relay;
  let client: observer.ObserverClient;
  let healthClient: health.HealthClient;

  before(async () => {
    for (const [i, f] of [a, b, c].entries()) {
      // Interleaved times: a at 1,4,7; b at 2,5,8; c at 3,6,9 (plus nanos to check tie-breaking).
      for (let k = 0; k < 3; k++) f.addFlow(1000 + i + 1 + 3 * k, i);
      f.status = { numFlows: BigInt(10 * (i + 1)), maxFlows: 100n, seenFlows: BigInt(1000 * (i + 1)), uptimeNs: BigInt((i + 1) * 1e9) };
      await f.start();
    }
    a.peers = [a, b, c].map((f) =>
      peer.ChangeNotification.fromPartial({ name: f.name, address: f.address, type: peer.ChangeNotificationType.PEER_ADDED }),
    );
    relay = await startRelay({
      listenAddresses: [`unix://${join(tmp.dir, 'relay.sock')}`],
      peerService: a.address,
      staticPeers: [{ name: 'node-z', address: `unix://${join(tmp.dir, 'missing.sock')}` }],
      // Long enough that a busy machine cannot flush the historic flows before every node has sent them.
      sortBufferDrainTimeoutMs: 1000,
      dialTimeoutMs: 500,
      retryTimeoutMs: 200,
      backoffInitialMs: 50,
      errorAggregationWindowMs: 50,
      nodeName: 'relay-node',
      logger: quiet,
    });
    client = new observer.ObserverClient(relay.addresses[0], credentials.createInsecure());
    healthClient = new health.HealthClient(relay.addresses[0], credentials.createInsecure());
    await eventually('three available peers', () => (relay.peers.list().filter((p) => p.available).length === 3 ? true : undefined));
  });

  after(async () => {
    client?.close();
    healthClient?.close();
    await relay?.stop();
    for (const f of [a, b, c]) f.kill();
    tmp.remove();
  });

  it('reports SERVING for hubble.server.Observer once peers are available', async () => {
    const res = await unary<health.HealthCheckResponse>((cb) =>
      healthClient.check(health.HealthCheckRequest.fromPartial({ service: 'hubble.server.Observer' }), cb),
    );
    assert.equal(res.status, health.HealthCheckResponse_ServingStatus.SERVING);
  });

  it('merges non-follow streams in time order after node_status events and ends OK', async () => {
    const { got, done } = collect(client, { number: 3n });
    const st = await done;
    assert.equal(st.code, Status.OK);
    assert.equal(got[0].nodeStatus?.stateChange, relayApi.NodeState.NODE_CONNECTED);
    assert.deepEqual(got[0].nodeStatus?.nodeNames, ['node-a', 'node-b', 'node-c']);
    assert.equal(got[0].nodeName, 'relay-node');
    assert.equal(got[1].nodeStatus?.stateChange, relayApi.NodeState.NODE_UNAVAILABLE);
    assert.deepEqual(got[1].nodeStatus?.nodeNames, ['node-z']);
    const flows = got.slice(2);
    assert.ok(flows.every((r) => r.flow !== undefined));
    // Upstream parity: not trimmed to `number` (3 per node → 9).
    assert.deepEqual(flows.map((r) => Number(r.time?.seconds)), [1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009]);
    for (const f of [a, b, c]) assert.equal(f.requests.at(-1)?.number, 3n, 'the identical request is forwarded');
  });

  it('forwards filters and custom metadata unchanged', async () => {
    const md = new Metadata();
    md.set('x-request-id', 'abc-123');
    md.set('x-trace-bin', Buffer.from([0, 1, 2, 255]));
    const { done } = collect(client, { number: 1n, whitelist: [{ sourcePod: ['default/xwing'] }] as never, since: { seconds: 5n, nanos: 7 } }, md);
    await done;
    const req = b.requests.at(-1);
    assert.deepEqual(req?.whitelist.map((f) => f.sourcePod), [['default/xwing']]);
    assert.deepEqual(req?.since, { seconds: 5n, nanos: 7 });
    const seen = b.requestMetadata.at(-1);
    assert.equal(seen?.['x-request-id'], 'abc-123');
    assert.deepEqual(seen?.['x-trace-bin'], Buffer.from([0, 1, 2, 255]));
  });

  it('answers INVALID_ARGUMENT for an invalid filter or time range without asking any node', async () => {
    const asked = [a, b, c].map((f) => f.requests.length);
    const cases: [Partial<observer.GetFlowsRequest>, RegExp][] = [
      [{ number: 5n, whitelist: [{ sourceIp: ['10.0.0.0/40'] }] as never }, /^invalid source_ip filter "10\.0\.0\.0\/40"/],
      [{ follow: true, blacklist: [{ httpPath: ['(['] }] as never }, /^invalid http_path filter "\(\["/],
      [{ follow: true, whitelist: [{ verdict: [1] }, { destinationPort: ['abc'] }] as never }, /^invalid destination_port filter "abc"/],
      [{ number: 5n, first: true, follow: true }, /"first" cannot be combined with "follow"/],
      [{ number: 5n, since: { seconds: 10n, nanos: 0 }, until: { seconds: 5n, nanos: 0 } }, /"until" is before "since"/],
    ];
    for (const [req, message] of cases) {
      const { got, done } = collect(client, req);
      const st = await done;
      assert.equal(st.code, Status.INVALID_ARGUMENT, `${JSON.stringify(req, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}: ${st.details}`);
      assert.match(st.details, message);
      assert.deepEqual(got, [], 'no node_status or flow before the error');
    }
    assert.deepEqual([a, b, c].map((f) => f.requests.length), asked, 'no node was asked');
    assert.equal(relay.stats.calls, 0);
    assert.equal(relay.stats.peerStreams, 0);
  });

  it('aggregates ServerStatus with wrappers set', async () => {
    const res = await unary<observer.ServerStatusResponse>((cb) => client.serverStatus(observer.ServerStatusRequest.fromPartial({}), cb));
    assert.equal(res.numFlows, 60n);
    assert.equal(res.maxFlows, 300n);
    assert.equal(res.seenFlows, 6000n);
    assert.equal(res.uptimeNs, 3_000_000_000n);
    assert.equal(res.numConnectedNodes, 3);
    assert.equal(res.numUnavailableNodes, 1);
    assert.deepEqual(res.unavailableNodes, ['node-z']);
    assert.match(res.version, /cilium-ts/);
  });

  it('lists nodes with their states and counters', async () => {
    const res = await unary<observer.GetNodesResponse>((cb) => client.getNodes(observer.GetNodesRequest.fromPartial({}), cb));
    const byName = new Map(res.nodes.map((n) => [n.name, n]));
    assert.deepEqual([...byName.keys()].sort(), ['node-a', 'node-b', 'node-c', 'node-z']);
    assert.equal(byName.get('node-b')?.state, relayApi.NodeState.NODE_CONNECTED);
    assert.equal(byName.get('node-b')?.numFlows, 20n);
    assert.equal(byName.get('node-b')?.version, 'fake-node-b');
    assert.equal(byName.get('node-b')?.address, b.address);
    assert.deepEqual(byName.get('node-b')?.tls, { enabled: false, serverName: '' });
    assert.equal(byName.get('node-z')?.state, relayApi.NodeState.NODE_UNAVAILABLE);
  });

  it('merges the peers\' GetNamespaces sorted by cluster and namespace, without duplicates', async () => {
    a.namespaces = [{ cluster: '', namespace: 'kube-system' }, { cluster: '', namespace: 'default' }];
    b.namespaces = [{ cluster: '', namespace: 'default' }, { cluster: 'c2', namespace: 'app' }];
    c.namespaces = [{ cluster: '', namespace: 'zeta' }, { cluster: 'c1', namespace: 'zeta' }];
    const res = await unary<observer.GetNamespacesResponse>((cb) => client.getNamespaces(observer.GetNamespacesRequest.fromPartial({}), cb));
    assert.deepEqual(
      res.namespaces.map((n) => `${n.cluster}/${n.namespace}`),
      ['/default', '/kube-system', '/zeta', 'c1/zeta', 'c2/app'],
    );
  });

  it('answers UNIMPLEMENTED for GetAgentEvents and GetDebugEvents (as upstream), naming the per-node server', async () => {
    for (const [method, s] of [
      ['GetAgentEvents', client.getAgentEvents(observer.GetAgentEventsRequest.fromPartial({}), new Metadata())],
      ['GetDebugEvents', client.getDebugEvents(observer.GetDebugEventsRequest.fromPartial({ number: 20n }), new Metadata())],
    ] as const) {
      const st = await new Promise<{ code: number; details: string }>((resolve) => {
        s.on('error', () => {});
        s.on('data', () => {});
        s.on('status', resolve);
      });
      assert.equal(st.code, Status.UNIMPLEMENTED, method);
      assert.match(st.details, new RegExp(`^${method} is not implemented by hubble-relay .*hubble-server directly`), method);
    }
  });

  it('keeps streaming from the others when a node dies mid-stream in follow mode', async () => {
    const { stream, got, done } = collect(client, { follow: true });
    await eventually('follow calls on every node', () => ([a, b, c].every((f) => f.followerCount === 1) ? true : undefined));
    a.addFlow(2000);
    c.addFlow(2001);
    await eventually('live flows from a and c', () => (got.filter((r) => r.flow && r.time!.seconds >= 2000n).length === 2 ? true : undefined));
    c.kill();
    const err = await eventually('NODE_ERROR for node-c', () => got.find((r) => r.nodeStatus?.stateChange === relayApi.NodeState.NODE_ERROR));
    assert.deepEqual(err.nodeStatus?.nodeNames, ['node-c']);
    assert.notEqual(err.nodeStatus?.message, '');
    b.addFlow(3000);
    await eventually('a flow from node-b after node-c died', () => got.find((r) => r.flow?.nodeName === 'node-b' && r.time!.seconds === 3000n));
    stream.cancel();
    assert.equal((await done).code, Status.CANCELLED);
    await eventually('peer streams cancelled', () => (a.followerCount === 0 && b.followerCount === 0 ? true : undefined));
    await eventually('node-c unavailable', () => (relay.peers.list().find((p) => p.name === 'node-c')?.available === false ? true : undefined));
    const res = await unary<observer.ServerStatusResponse>((cb) => client.serverStatus(observer.ServerStatusRequest.fromPartial({}), cb));
    assert.equal(res.numConnectedNodes, 2);
    assert.deepEqual([...res.unavailableNodes].sort(), ['node-c', 'node-z']);
    const next = collect(client, { number: 1n });
    assert.equal((await next.done).code, Status.OK);
    assert.deepEqual(next.got[1].nodeStatus?.nodeNames, ['node-c', 'node-z']);
    assert.equal(next.got[1].nodeStatus?.stateChange, relayApi.NodeState.NODE_UNAVAILABLE);
  });

  it('removes a peer on PEER_DELETED', async () => {
    a.notify(peer.ChangeNotification.fromPartial({ name: 'node-c', type: peer.ChangeNotificationType.PEER_DELETED }));
    await eventually('node-c removed', () => (relay.peers.list().some((p) => p.name === 'node-c') ? undefined : true));
  });
});
