import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { credentials, status as Status } from '@grpc/grpc-js';
import { observer } from '@cilium-ts/api';
import { createLogger } from '@cilium-ts/process';
import { startRelay, type Relay } from './relay.js';
import { eventually, FakeHubble, tempDir } from './testing/fake-hubble.js';

const FLOWS_PER_NODE = 3000;

for (const batchedWrites of [true, false]) describe(`hubble-relay with a slow reader (${batchedWrites ? 'batched writes' : 'grpc-js writes'})`, () => {
  const tmp = tempDir('cts-relay-bp-');
  const nodes = ['n1', 'n2'].map((n) => new FakeHubble(n, join(tmp.dir, `${n}.sock`)));
  let relay: Relay;
  let client: observer.ObserverClient;

  before(async () => {
    for (const [i, f] of nodes.entries()) {
      // Large summaries so that the stream outgrows the HTTP/2 windows and writes report back-pressure.
      for (let k = 0; k < FLOWS_PER_NODE; k++) f.addFlow(10_000 + 2 * k + i, 0, `${f.name}-${k}-${'x'.repeat(200)}`);
      await f.start();
    }
    relay = await startRelay({
      listenAddresses: [`unix://${join(tmp.dir, 'relay.sock')}`],
      staticPeers: nodes.map((f) => ({ name: f.name, address: f.address })),
      sortBufferDrainTimeoutMs: 1000,
      batchedWrites,
      // Larger than both nodes' flows together: the buffer never has to send early, so the
      // merged order must be exact.
      sortBufferLenMax: 10_000,
      logger: createLogger('hubble-relay-test', { level: 'error' }),
    });
    client = new observer.ObserverClient(relay.addresses[0], credentials.createInsecure());
    await eventually('both peers available', () => (relay.peers.list().every((p) => p.available) ? true : undefined));
  });

  after(async () => {
    client?.close();
    await relay?.stop();
    for (const f of nodes) f.kill();
    tmp.remove();
  });

  it('delivers every flow exactly once and ends OK when the caller reads in bursts', async () => {
    const stream = client.getFlows(observer.GetFlowsRequest.fromPartial({ number: 18446744073709551615n }));
    const seen = new Set<string>();
    let duplicates = 0;
    let count = 0;
    let outOfOrder = 0;
    let last = -Infinity;
    const code = await new Promise<number>((resolve) => {
      let status: number | undefined;
      let ended = false;
      stream.on('data', (r: observer.GetFlowsResponse) => {
        if (!r.flow) return;
        const t = Number(r.time!.seconds) * 1e9 + r.time!.nanos;
        if (t < last) outOfOrder++;
        last = t;
        if (seen.has(r.flow.Summary)) duplicates++;
        seen.add(r.flow.Summary);
        // Stop reading now and then, so that the relay's writes back up.
        if (++count % 500 === 0) {
          stream.pause();
          setTimeout(() => stream.resume(), 50);
        }
      });
      stream.on('error', () => {});
      stream.on('end', () => {
        ended = true;
        if (status !== undefined) resolve(status);
      });
      stream.on('status', (s) => {
        status = s.code;
        if (ended || s.code !== Status.OK) resolve(s.code);
      });
    });
    assert.equal(code, Status.OK);
    assert.equal(duplicates, 0);
    assert.equal(seen.size, FLOWS_PER_NODE * nodes.length);
    // The fake nodes' times interleave, each node sends in order and the buffer is never full: the merge is exact.
    assert.equal(outOfOrder, 0);
  });
});
