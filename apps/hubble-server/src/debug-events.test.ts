// GetDebugEvents against a fake agent: debug records (type 2) from the Monitor stream, single
// and batched, land on the debug ring and are served with number / first / since / follow;
// they never become flows and leave ServerStatus as it was.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { status, type ServiceError } from '@grpc/grpc-js';
import { flow, observer, timestampFromNanos } from '@cilium-ts/api';
import { encodeEventRecord } from '@cilium-ts/bpf/events';
import { buildPacket } from '@cilium-ts/bpf/testing/packet-builder';
import { createClient } from '@cilium-ts/grpc';
import { createLogger } from '@cilium-ts/process';
import { startHubbleServer, type RunningHubbleServer } from './hubble-server.js';
import { FakeAgent } from '@cilium-ts/agent/testing';
import { collect, getFlows, waitUntil } from './testing/grpc-helpers.js';

const T0 = 1_700_000_000_000_000_000n;
const SEC = 1_000_000_000n;

/** A debug record as the datapath writes it (docs/CONTRACTS.md). */
function debugRecord(subType: number, source: number, args: [number, number, number], hash = 0): Buffer {
  return encodeEventRecord({ type: 2, subType, source, hash, args });
}

const trace = encodeEventRecord({
  type: 4, subType: 5, source: 101, egress: true, srcIdentity: 256, dstIdentity: 2,
  packet: buildPacket({ src: '10.0.1.5', dst: '10.0.9.9', protocol: 'udp', sport: 1000, dport: 53 }),
});

describe('hubble-server GetDebugEvents', () => {
  let dir: string;
  let fake: FakeAgent;
  let server: RunningHubbleServer;
  let client: observer.ObserverClient;

  const debugEvents = (req: observer.DeepPartial<observer.GetDebugEventsRequest>): Promise<observer.GetDebugEventsResponse[]> =>
    collect(client.getDebugEvents(observer.GetDebugEventsRequest.fromPartial(req)));
  const status_ = (): Promise<observer.ServerStatusResponse> =>
    new Promise((resolve, reject) => client.serverStatus(observer.ServerStatusRequest.fromPartial({}), (e, r) => (e ? reject(e) : resolve(r!))));

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cts-hubble-debug-'));
    fake = await FakeAgent.start(join(dir, 'agent.sock'), {
      snapshot: { endpoints: [{ id: 101, ipv4: '10.0.1.5', identity: 256, namespace: 'default', podName: 'xwing', labels: ['k8s:app=xwing', 'k8s:class=fighter'] }] },
    });
    server = await startHubbleServer({
      agentAddress: fake.target,
      listenAddresses: ['127.0.0.1:0'],
      nodeName: 'node-1',
      clusterName: 'default',
      bufferCapacity: 63,
      debugBufferCapacity: 7,
      logger: createLogger('hubble-server-test', { level: 'error' }),
    });
    client = createClient(observer.ObserverClient, server.addresses[0]!);
    await waitUntil('agent subscription and metadata sync', () => server.subscriber.connected && server.metadata.isSynced && fake.subscribers === 1);
  });

  after(async () => {
    client?.close();
    await server?.stop();
    fake?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('debug records become debug events on their own ring, never flows; ServerStatus counts flows only', async () => {
    // One single record, then a batch mixing a flow between debug records, as the agent sends them.
    fake.sendRecord(debugRecord(48, 101, [0x0a000105, 0x0a000909, ((1000 << 16) | 53) >>> 0], 0xabc), T0);
    fake.sendBatch([debugRecord(49, 101, [17, 1, 0]), trace, debugRecord(99, 4242, [1, 2, 3])], [T0 + SEC, T0 + 2n * SEC, T0 + 3n * SEC]);
    await waitUntil('3 debug events and 1 flow', () => server.debugRing.head === 3 && server.ring.head === 1);
    const got = await debugEvents({ number: 20n });
    assert.deepEqual(got.map((r) => r.time), [0n, 1n, 3n].map((s) => timestampFromNanos(T0 + s * SEC)));
    assert.ok(got.every((r) => r.nodeName === 'node-1'));
    const [lookup1, lookup2, unknown] = got.map((r) => r.debugEvent!);
    assert.equal(lookup1!.type, flow.DebugEventType.DBG_CT_LOOKUP4_1);
    assert.deepEqual(lookup1!.source, flow.Endpoint.fromPartial({ ID: 101, identity: 256, namespace: 'default', podName: 'xwing', labels: ['k8s:app=xwing', 'k8s:class=fighter'] }));
    assert.equal(lookup1!.hash, 0xabc);
    assert.equal(lookup1!.message, 'Conntrack lookup 1/2: src=10.0.1.5:1000 dst=10.0.9.9:53');
    assert.equal(lookup2!.type, flow.DebugEventType.DBG_CT_LOOKUP4_2);
    assert.deepEqual([lookup2!.arg1, lookup2!.arg2, lookup2!.arg3], [17, 1, 0]);
    assert.equal(unknown!.type, 99);
    assert.deepEqual(unknown!.source, flow.Endpoint.fromPartial({ ID: 4242 }));
    assert.match(unknown!.message, /99/);

    const flows = await getFlows(client, { number: 20n });
    assert.equal(flows.length, 1);
    assert.equal(flows[0]!.flow?.eventType?.type, 4);
    const st = await status_();
    assert.deepEqual([st.numFlows, st.maxFlows, st.seenFlows], [1n, 63n, 1n]);
    const agentEvents = await collect(client.getAgentEvents(observer.GetAgentEventsRequest.fromPartial({ number: 20n })));
    assert.deepEqual(agentEvents, []);
  });

  test('number, first, since/until select as for flows; a full debug ring keeps the newest', async () => {
    assert.deepEqual((await debugEvents({ number: 1n })).map((r) => r.debugEvent?.type), [99]);
    assert.deepEqual((await debugEvents({ number: 2n, first: true })).map((r) => r.debugEvent?.type), [48, 49]);
    const window = await debugEvents({ since: timestampFromNanos(T0 + SEC), until: timestampFromNanos(T0 + 2n * SEC) });
    assert.deepEqual(window.map((r) => r.debugEvent?.type), [49]);
    await assert.rejects(debugEvents({ first: true, follow: true }), (e: ServiceError) => e.code === status.INVALID_ARGUMENT);
    const times = Array.from({ length: 10 }, (_, i) => T0 + (10n + BigInt(i)) * SEC);
    fake.sendBatch(times.map((_, i) => debugRecord(2, 101, [i, 256, 0])), times);
    await waitUntil('debug ring wrapped', () => server.debugRing.head === 13);
    const all = await debugEvents({ number: 18446744073709551615n });
    assert.deepEqual(all.map((r) => r.debugEvent?.arg1), [3, 4, 5, 6, 7, 8, 9], 'capacity 7: the newest seven');
    assert.equal(all[0]!.debugEvent?.message, 'Attempting local delivery for container id 3 from seclabel 256');
    assert.equal(server.ring.head, 1, 'the flow ring saw none of them');
  });

  test('follow streams new debug events; cancelling frees the reader', async () => {
    const stream = client.getDebugEvents(observer.GetDebugEventsRequest.fromPartial({ follow: true }));
    const got: observer.GetDebugEventsResponse[] = [];
    stream.on('data', (r: observer.GetDebugEventsResponse) => got.push(r));
    const ended = new Promise<ServiceError | undefined>((resolve) => {
      stream.on('error', (e: ServiceError) => resolve(e));
      stream.on('end', () => resolve(undefined));
    });
    await waitUntil('follow reader waiting on the debug ring', () => server.debugRing.waiting === 1);
    fake.sendRecord(trace, T0 + 30n * SEC);
    fake.sendRecord(debugRecord(8, 101, [1, 257, 0], 7), T0 + 31n * SEC);
    await waitUntil('followed debug event', () => got.length === 1);
    assert.equal(got[0]!.debugEvent?.type, flow.DebugEventType.DBG_CT_MATCH);
    assert.equal(got[0]!.debugEvent?.message, 'CT entry found: established, peer identity 257');
    assert.deepEqual(got[0]!.time, timestampFromNanos(T0 + 31n * SEC));
    assert.equal(server.observer.activeStreams, 1);
    stream.cancel();
    assert.equal((await ended)?.code, status.CANCELLED);
    await waitUntil('reader freed', () => server.observer.activeStreams === 0 && server.debugRing.waiting === 0);
  });
});
