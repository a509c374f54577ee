import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MonitorHub, type HubEvent } from './monitor-hub.js';

const rec = (type: number): HubEvent => ({ kind: 'datapath', timeNs: 1n, record: Buffer.from([type]), type });

test('delivers by type filter and agent-event opt-in', () => {
  const hub = new MonitorHub(() => 5n);
  const a: HubEvent[] = [];
  const b: HubEvent[] = [];
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
  const got: HubEvent[] = [];
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
