import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server, ServerCredentials, credentials, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { agent, timestampFromNanos } from '@cilium-ts/api';
import { agentServices, type AgentCore } from './api-services.js';
import { MonitorHub, type DeliveredEvent, type HubBatch, type HubEvent } from './monitor-hub.js';

const rec = (type: number): HubEvent => ({ kind: 'datapath', timeNs: 1n, record: Buffer.from([type]), type });

test('delivers by type filter and agent-event opt-in', () => {
  const hub = new MonitorHub(() => 5n);
  const a: DeliveredEvent[] = [];
  const b: DeliveredEvent[] = [];
  hub.subscribe({ types: [1], agentEvents: false }, { write: (e) => (a.push(e), true) });
  hub.subscribe({ types: [], agentEvents: true }, { write: (e) => (b.push(e), true) });
  hub.publish(rec(1));
  hub.publish(rec(4));
  hub.publishAgent(7, { id: 1 });
  assert.deepEqual(a.map((e) => e.kind === 'datapath' && e.type), [1]);
  assert.deepEqual(b.map((e) => e.kind), ['datapath', 'datapath', 'agent']);
});

test('a paused subscriber queues, loses beyond its bound, then reports the loss', () => {
  const hub = new MonitorHub(() => 9n);
  const got: DeliveredEvent[] = [];
  let open = false;
  const sub = hub.subscribe({ types: [], agentEvents: false }, { write: (e) => (got.push(e), open) });
  hub.publish(rec(1)); // written, sink says pause
  for (let i = 0; i < 20000; i++) hub.publish(rec(4));
  assert.equal(got.length, 1);
  open = true;
  sub.resume();
  hub.publish(rec(5));
  const lost = got.filter((e) => e.kind === 'lost');
  assert.equal(lost.length, 1);
  assert.equal(lost[0]!.kind === 'lost' && lost[0]!.count, 20000 - 16384);
  assert.equal(got.filter((e) => e.kind === 'datapath').length, 1 + 16384 + 1);
  hub.unsubscribe(sub);
  assert.equal(hub.size, 0);
});

const stamped = (i: number, type = 4): HubEvent => ({ kind: 'datapath', timeNs: BigInt(1000 + i), record: Buffer.from([type, i & 0xff, i >> 8]), type });
const indexOf = (record: Buffer): number => record[1]! | (record[2]! << 8);
const batches = (got: DeliveredEvent[]): HubBatch[] => got.filter((e): e is HubBatch => e.kind === 'batch');

test('a batching subscriber gets full batches in order, each record with its own stamp', (t) => {
  const hub = new MonitorHub(() => 5n, { batchRecords: 4, batchFlushMs: 60_000 });
  const got: DeliveredEvent[] = [];
  const plain: DeliveredEvent[] = [];
  const sub = hub.subscribe({ types: [], agentEvents: false, batch: true }, { write: (e) => (got.push(e), true) });
  hub.subscribe({ types: [], agentEvents: false }, { write: (e) => (plain.push(e), true) });
  t.after(() => hub.unsubscribe(sub));
  for (let i = 0; i < 10; i++) hub.publish(stamped(i));
  // Two full batches; the last two records wait for the timer (60 s here) or a drain.
  assert.deepEqual(batches(got).map((b) => b.records.map(indexOf)), [[0, 1, 2, 3], [4, 5, 6, 7]]);
  assert.deepEqual(batches(got).flatMap((b) => b.timesNs), [1000n, 1001n, 1002n, 1003n, 1004n, 1005n, 1006n, 1007n]);
  // A subscriber that did not ask for batches gets one event per record, as before.
  assert.deepEqual(plain.map((e) => e.kind), Array(10).fill('datapath'));
  sub.resume();
  assert.deepEqual(batches(got).map((b) => b.records.map(indexOf)), [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
  assert.deepEqual(got.length, 3);
});

test('an agent event flushes the held batch first, so order holds', () => {
  const hub = new MonitorHub(() => 5n, { batchRecords: 100, batchFlushMs: 60_000 });
  const got: DeliveredEvent[] = [];
  const sub = hub.subscribe({ types: [], agentEvents: true, batch: true }, { write: (e) => (got.push(e), true) });
  hub.publish(stamped(0));
  hub.publish(stamped(1));
  hub.publishAgent(7, { id: 1 });
  hub.publish(stamped(2));
  hub.unsubscribe(sub);
  assert.deepEqual(got.map((e) => e.kind), ['batch', 'agent']);
  assert.deepEqual((got[0] as HubBatch).records.map(indexOf), [0, 1]);
});

test('a batch that does not fill up is flushed after batchFlushMs', async (t) => {
  const hub = new MonitorHub(() => 5n, { batchRecords: 1000, batchFlushMs: 1 });
  const got: DeliveredEvent[] = [];
  let arrived!: () => void;
  const flushed = new Promise<void>((resolve) => (arrived = resolve));
  const sub = hub.subscribe({ types: [], agentEvents: false, batch: true }, { write: (e) => (got.push(e), arrived(), true) });
  t.after(() => hub.unsubscribe(sub));
  hub.publish(stamped(0));
  hub.publish(stamped(1));
  assert.equal(got.length, 0);
  await flushed;
  assert.deepEqual(batches(got).map((b) => b.records.map(indexOf)), [[0, 1]]);
});

test('a paused batching subscriber queues per record, counts the loss and resumes in batches', () => {
  const hub = new MonitorHub(() => 9n, { queueLength: 10, batchRecords: 4, batchFlushMs: 60_000 });
  const got: DeliveredEvent[] = [];
  let open = false;
  const sub = hub.subscribe({ types: [], agentEvents: false, batch: true }, { write: (e) => (got.push(e), open) });
  for (let i = 0; i < 4; i++) hub.publish(stamped(i)); // one full batch, then the sink pauses
  for (let i = 4; i < 20; i++) hub.publish(stamped(i)); // 10 queued, 6 lost
  assert.equal(got.length, 1);
  open = true;
  sub.resume();
  assert.deepEqual(
    got.map((e) => (e.kind === 'batch' ? e.records.map(indexOf) : e.kind === 'lost' ? `lost ${e.count}` : e.kind)),
    [[0, 1, 2, 3], 'lost 6', [4, 5, 6, 7], [8, 9, 10, 11], [12, 13]],
  );
  hub.unsubscribe(sub);
  hub.publish(stamped(99));
  assert.equal(got.length, 5);
  assert.equal(hub.size, 0);
});

test('a sink that pauses in the middle of a resume keeps the rest queued in order', () => {
  const hub = new MonitorHub(() => 9n, { batchRecords: 2, batchFlushMs: 60_000 });
  const got: DeliveredEvent[] = [];
  let budget = 0;
  const sub = hub.subscribe({ types: [], agentEvents: true, batch: true }, { write: (e) => (got.push(e), budget-- > 0) });
  hub.publish(stamped(0));
  hub.publish(stamped(1)); // batch [0,1] written; sink pauses
  hub.publish(stamped(2));
  hub.publishAgent(3, {});
  hub.publish(stamped(3));
  hub.publish(stamped(4));
  hub.publish(stamped(5));
  budget = 0;
  sub.resume(); // [2] flushed before the agent event; the sink pauses again
  budget = 10;
  sub.resume();
  hub.unsubscribe(sub);
  assert.deepEqual(
    got.map((e) => (e.kind === 'batch' ? e.records.map(indexOf) : e.kind)),
    [[0, 1], [2], 'agent', [3, 4], [5]],
  );
});

test('Monitor.Listen over gRPC: batch subscribers get DatapathBatch messages, the others one message per record', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cts-monitor-'));
  const server = new Server();
  const clients: agent.MonitorClient[] = [];
  t.after(() => {
    for (const c of clients) c.close();
    server.forceShutdown();
    rmSync(dir, { recursive: true, force: true });
  });
  const hub = new MonitorHub(() => 5n, { batchRecords: 3, batchFlushMs: 1 });
  // Only the monitor handler runs here; it uses nothing of the core but these two fields.
  const core = { nodeName: 'node-m', monitor: hub } as unknown as AgentCore;
  for (const s of agentServices(core)) if (s.definition === agent.MonitorService) server.addService(s.definition, s.implementation as UntypedServiceImplementation);
  const address = `unix://${join(dir, 'agent.sock')}`;
  await new Promise<void>((resolve, reject) => server.bindAsync(address, ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
  const listen = (batch: boolean) => {
    const client = new agent.MonitorClient(address, credentials.createInsecure());
    clients.push(client);
    const got: agent.MonitorEvent[] = [];
    const call = client.listen(agent.MonitorRequest.fromPartial({ agentEvents: true, batch }));
    call.on('data', (e: agent.MonitorEvent) => got.push(e));
    call.on('error', () => {});
    t.after(() => call.cancel());
    return got;
  };
  const batched = listen(true);
  const plain = listen(false);
  await waitFor(() => hub.size === 2);
  for (let i = 0; i < 4; i++) hub.publish(stamped(i));
  hub.publishAgent(7, { id: 1 });
  await waitFor(() => batched.length === 3 && plain.length === 5);
  assert.deepEqual(batched.map((e) => e.batch?.records.map(indexOf) ?? e.agent?.type), [[0, 1, 2], [3], 7]);
  assert.deepEqual(batched[0]!.batch?.timeNs, [1000n, 1001n, 1002n]);
  assert.deepEqual(batched[0]!.time, timestampFromNanos(1000n));
  assert.equal(batched[0]!.nodeName, 'node-m');
  assert.equal(batched[0]!.datapath, undefined);
  assert.deepEqual(plain.map((e) => (e.datapath ? indexOf(e.datapath) : e.agent?.type)), [0, 1, 2, 3, 7]);
  assert.ok(plain.every((e) => e.batch === undefined));
  assert.deepEqual(plain[3]!.time, timestampFromNanos(1003n));
  // A lone record goes out after batchFlushMs.
  hub.publish(stamped(9));
  await waitFor(() => batched.length === 4);
  assert.deepEqual(batched[3]!.batch?.records.map(indexOf), [9]);
});

async function waitFor(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), 'condition not met within 5 s');
}
