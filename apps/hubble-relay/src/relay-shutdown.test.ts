// Stopping the relay while a follow call streams: the caller's stream ends OK, the relay stops
// reading its peers (their follow calls go away), and flows still arriving during the
// shutdown are dropped without an error escaping from the writes that race the end.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { credentials, status as Status } from '@grpc/grpc-js';
import { observer } from '@cilium-ts/api';
import { createLogger } from '@cilium-ts/process';
import { startRelay, type Relay } from './relay.js';
import { eventually, FakeHubble, tempDir } from './testing/fake-hubble.js';

for (const batchedWrites of [true, false]) describe(`hubble-relay shutdown during a follow call (${batchedWrites ? 'batched writes' : 'grpc-js writes'})`, () => {
  const tmp = tempDir('cts-relay-stop-');
  const nodes = ['s1', 's2'].map((n) => new FakeHubble(n, join(tmp.dir, `${n}.sock`)));
  let relay: Relay | undefined;
  let client: observer.ObserverClient | undefined;
  let ticker: NodeJS.Timeout | undefined;

  before(async () => {
    for (const f of nodes) await f.start();
    relay = await startRelay({
      listenAddresses: [`unix://${join(tmp.dir, 'relay.sock')}`],
      staticPeers: nodes.map((f) => ({ name: f.name, address: f.address })),
      batchedWrites,
      logger: createLogger('hubble-relay-stop-test', { level: 'error' }),
    });
    client = new observer.ObserverClient(relay.addresses[0]!, credentials.createInsecure());
    await eventually('both peers available', () => (relay!.peers.list().every((p) => p.available) ? true : undefined));
  });

  after(async () => {
    if (ticker) clearInterval(ticker);
    client?.close();
    await relay?.stop();
    for (const f of nodes) f.kill();
    tmp.remove();
  });

  it('ends the caller OK and lets go of the peers', async () => {
    const stream = client!.getFlows(observer.GetFlowsRequest.fromPartial({ follow: true }));
    let flows = 0;
    stream.on('data', (r: observer.GetFlowsResponse) => {
      if (r.flow) flows++;
    });
    stream.on('error', () => undefined);
    const status = new Promise<number>((resolve) => stream.on('status', (s: { code: number }) => resolve(s.code)));
    await eventually('both nodes followed', () => (nodes.every((f) => f.followerCount === 1) ? true : undefined));
    // Both nodes keep sending through the shutdown.
    let t = 1_000;
    ticker = setInterval(() => {
      for (const f of nodes) f.addFlow(t, 0, `${f.name}-${t}`);
      t++;
    }, 2);
    await eventually('flows relayed', () => (flows > 20 ? true : undefined));
    await relay!.stop();
    assert.equal(await status, Status.OK);
    assert.equal(relay!.stats.calls, 0);
    await eventually('peer streams closed', () => (relay!.stats.peerStreams === 0 ? true : undefined));
    await eventually('the nodes lost their follower', () => (nodes.every((f) => f.followerCount === 0) ? true : undefined));
    relay = undefined;
  });
});
