// The relay's connections to each hubble-server, counted at the server (established TCP
// sockets on its port, from `ss`): ONE per server, whatever the calls. The peer's RawChannel
// (PeerConnection) is watched for availability and carries every GetFlows stream and every
// unary call (ServerStatus, GetNodes, GetNamespaces).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { credentials, Metadata, ServerCredentials, type ClientReadableStream } from '@grpc/grpc-js';
import { observer } from '@cilium-ts/api';
import { createLogger } from '@cilium-ts/process';
import { startRelay, type Relay } from './relay.js';
import { eventually, FakeHubble, tempDir } from './testing/fake-hubble.js';

/** CALLS is how many GetFlows follow calls run at once through the relay. */
const CALLS = 24;

/** establishedAt counts the established TCP connections whose local end is 127.0.0.1:port. */
function establishedAt(port: string): number {
  const out = execFileSync('ss', ['-Htn', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.trim() !== '').length;
}

describe('hubble-relay connections per hubble-server', () => {
  const tmp = tempDir('cts-relay-conns-');
  const peers = ['node-a', 'node-b'].map((n) => new FakeHubble(n, join(tmp.dir, `${n}.sock`), ServerCredentials.createInsecure()));
  let relay: Relay;
  let client: observer.ObserverClient;
  const calls: ClientReadableStream<observer.GetFlowsResponse>[] = [];

  before(async () => {
    peers.forEach((p, i) => {
      p.namespaces = [observer.Namespace.fromPartial({ namespace: `ns-${p.name}` })];
      p.status = { ...p.status, seenFlows: BigInt(5 + 2 * i) };
    });
    for (const p of peers) await p.start();
    relay = await startRelay({
      listenAddresses: [`unix://${join(tmp.dir, 'relay.sock')}`],
      staticPeers: peers.map((p) => ({ name: p.name, address: p.address })),
      dialTimeoutMs: 2000,
      retryTimeoutMs: 200,
      backoffInitialMs: 50,
      nodeName: 'relay',
      logger: createLogger('hubble-relay-test', { level: 'error' }),
    });
    client = new observer.ObserverClient(relay.addresses[0]!, credentials.createInsecure());
    await eventually('two available peers', () => (relay.peers.list().filter((p) => p.available).length === 2 ? true : undefined));
  });

  after(async () => {
    for (const c of calls) c.cancel();
    client?.close();
    await relay?.stop();
    for (const p of peers) p.kill();
    tmp.remove();
  });

  it(`${CALLS} concurrent GetFlows calls and unary calls share one connection per server, as one call does`, async () => {
    const open = (): void => {
      const call = client.getFlows(observer.GetFlowsRequest.fromPartial({ follow: true }), new Metadata());
      call.on('data', () => {});
      call.on('error', () => {});
      calls.push(call);
    };
    const ports = peers.map((p) => p.address.split(':')[1]!);
    open();
    await eventually('one follower on each server', () => (peers.every((p) => p.followerCount === 1) ? true : undefined));
    const withOne = ports.map(establishedAt);
    for (let i = 1; i < CALLS; i++) open();
    await eventually(`${CALLS} followers on each server`, () => (peers.every((p) => p.followerCount === CALLS) ? true : undefined));
    // Unary calls while the follow calls run: each is answered from both servers (so it went
    // to each of them), and none opens a connection.
    const unary = await Promise.all(
      Array.from({ length: 9 }, (_, i) =>
        new Promise<string>((resolve, reject) => {
          if (i % 3 === 0) {
            client.serverStatus(observer.ServerStatusRequest.fromPartial({}), (err, res) =>
              err ? reject(err) : resolve(`status ${res!.numConnectedNodes} ${res!.seenFlows}`));
          } else if (i % 3 === 1) {
            client.getNamespaces(observer.GetNamespacesRequest.fromPartial({}), (err, res) =>
              err ? reject(err) : resolve(`namespaces ${res!.namespaces.map((n) => n.namespace).join(',')}`));
          } else {
            client.getNodes(observer.GetNodesRequest.fromPartial({}), (err, res) =>
              err ? reject(err) : resolve(`nodes ${res!.nodes.map((n) => `${n.name}:${n.state}:${n.seenFlows}`).join(',')}`));
          }
        }),
      ),
    );
    assert.deepEqual(new Set(unary), new Set(['status 2 12', 'namespaces ns-node-a,ns-node-b', 'nodes node-a:1:5,node-b:1:7']));
    const withMany = ports.map(establishedAt);
    assert.deepEqual(withOne, [1, 1], 'one connection per server');
    assert.deepEqual(withMany, withOne, `${CALLS} GetFlows calls and 9 unary calls open no connection of their own`);
  });
});
