// Three real hubble-server processes (each fed by a fake agent ticking records), the relay in
// process, and a follow client: one server is killed mid-stream and restarted. The stream goes
// on, the merged order holds, the node is reported unavailable and then connected again; a
// client that goes away frees the relay's peer streams and the servers' readers.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { status as Status } from '@grpc/grpc-js';
import { observer, relay as relayApi } from '@cilium-ts/api';
import { createClient } from '@cilium-ts/grpc';
import { createLogger } from '@cilium-ts/process';
import { startRelay, type Relay } from './relay.js';
import { eventually, tempDir } from './testing/fake-hubble.js';
import { FakeAgentProcess, freePort, killHard, spawnHubbleServer } from './testing/processes.js';

const NODES = ['node-1', 'node-2', 'node-3'];
const nanos = (r: observer.GetFlowsResponse): bigint => r.time!.seconds * 1_000_000_000n + BigInt(r.time!.nanos);

async function metric(port: number, name: string): Promise<number | undefined> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

describe('hubble-relay with three hubble-server processes', () => {
  const tmp = tempDir('cts-relay-res-');
  const agentSocket = (i: number) => join(tmp.dir, `agent-${i}.sock`);
  const hubbleSocket = (i: number) => join(tmp.dir, `hubble-${i}.sock`);
  const servers: (ChildProcess | undefined)[] = [];
  const metricsPorts: number[] = [];
  let agents: FakeAgentProcess | undefined;
  let relay: Relay | undefined;

  const startServer = (i: number): void => {
    servers[i] = spawnHubbleServer([
      '--agent-socket', `unix://${agentSocket(i)}`, '--listen-address', `unix://${hubbleSocket(i)}`,
      '--node-name', NODES[i]!, '--buffer-capacity', '1023', '--metrics-port', String(metricsPorts[i]), '--log-level', 'error',
    ]);
  };

  before(async () => {
    agents = await FakeAgentProcess.start(NODES.map((_, i) => agentSocket(i)), 20);
    for (let i = 0; i < NODES.length; i++) {
      metricsPorts.push(await freePort());
      startServer(i);
    }
    await eventually('every server subscribed to its agent', async () => ((await agents!.subscribers()).every((n) => n === 1) ? true : undefined), 30_000);
    relay = await startRelay({
      listenAddresses: [`unix://${join(tmp.dir, 'relay.sock')}`],
      staticPeers: NODES.map((name, i) => ({ name, address: `unix://${hubbleSocket(i)}` })),
      backoffInitialMs: 100,
      retryTimeoutMs: 1000,
      dialTimeoutMs: 1000,
      sortBufferDrainTimeoutMs: 500,
      nodeName: 'relay',
      logger: createLogger('hubble-relay-resilience-test', { level: 'error' }),
    });
    await eventually('every node available', () => (relay!.peers.list().every((p) => p.available) ? true : undefined), 20_000);
  });

  after(async () => {
    await relay?.stop();
    await Promise.all(servers.map((s) => killHard(s)));
    agents?.stop();
    tmp.remove();
  });

  it('keeps streaming while a node is killed and restarted; frees everything when the client leaves', async () => {
    const client = createClient(observer.ObserverClient, `unix://${join(tmp.dir, 'relay.sock')}`);
    const got: observer.GetFlowsResponse[] = [];
    const stream = client.getFlows(observer.GetFlowsRequest.fromPartial({ follow: true }));
    const status = new Promise<number>((resolve) => stream.on('status', (s: { code: number }) => resolve(s.code)));
    stream.on('data', (r: observer.GetFlowsResponse) => got.push(r));
    stream.on('error', () => undefined);
    const flowsFrom = (node: string, after = 0) => got.slice(after).filter((r) => r.flow?.nodeName === node).length;
    const statusIndex = (state: relayApi.NodeState, node: string, after = 0) =>
      got.findIndex((r, i) => i >= after && r.nodeStatus?.stateChange === state && r.nodeStatus.nodeNames.includes(node));
    try {
      await eventually('flows from every node', () => (NODES.every((n) => flowsFrom(n) > 3) ? true : undefined), 20_000);
      assert.deepEqual(got[0]?.nodeStatus?.nodeNames, NODES);

      await killHard(servers[1]);
      const killedAt = got.length;
      const down = await eventually('node-2 reported unavailable', () => {
        const i = statusIndex(relayApi.NodeState.NODE_UNAVAILABLE, 'node-2', killedAt);
        return i >= 0 ? i : undefined;
      }, 20_000);
      await eventually('node-1 and node-3 keep streaming', () => (flowsFrom('node-1', down) > 5 && flowsFrom('node-3', down) > 5 ? true : undefined), 20_000);

      startServer(1);
      const up = await eventually('node-2 connected again', () => {
        const i = statusIndex(relayApi.NodeState.NODE_CONNECTED, 'node-2', down);
        return i >= 0 ? i : undefined;
      }, 30_000);
      await eventually('flows from the restarted node-2', () => (flowsFrom('node-2', up) > 3 ? true : undefined), 20_000);
      assert.ok(flowsFrom('node-1', up) > 0 && flowsFrom('node-3', up) > 0);

      const times = got.filter((r) => r.flow).map(nanos);
      for (let i = 1; i < times.length; i++) assert.ok(times[i]! >= times[i - 1]!, `flow ${i} is older than flow ${i - 1}`);
      assert.equal(got.filter((r) => r.lostEvents).length, 0);
    } finally {
      stream.cancel();
      client.close();
    }
    assert.equal(await status, Status.CANCELLED);
    await eventually('relay call and peer streams freed', () => (relay!.stats.calls === 0 && relay!.stats.peerStreams === 0 ? true : undefined));
    for (const port of metricsPorts) {
      await eventually(`server on metrics port ${port} freed its stream and ring reader`, async () =>
        (await metric(port, 'hubble_server_observer_streams')) === 0 && (await metric(port, 'hubble_server_ring_followers')) === 0 ? true : undefined);
    }
  });
});
