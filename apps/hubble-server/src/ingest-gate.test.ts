import assert from 'node:assert/strict';
import { test } from 'node:test';
import { flow, timestampFromNanos } from '@cilium-ts/api';
import { RingBuffer, RingReader, type HubbleEvent } from '@cilium-ts/flow';
import { IngestGate } from './ingest-gate.js';

function write(ring: RingBuffer<HubbleEvent>, n: number): void {
  for (let i = 0; i < n; i++) {
    const time = timestampFromNanos(BigInt(ring.head));
    ring.write({ kind: 'flow', time, nodeName: 'n', flow: flow.Flow.fromPartial({ time }) });
  }
}

const follower = (ring: RingBuffer<HubbleEvent>): RingReader =>
  new RingReader(ring, { number: 0n, follow: true }, { kind: 'flow' });

test('closes while a reader lags more than maxLag, opens when it catches up or leaves', () => {
  const ring = new RingBuffer<HubbleEvent>(63);
  const gate = new IngestGate(ring, 10, 1000, () => 0.5);
  assert.equal(gate.open(), true);
  const reader = follower(ring);
  gate.add(reader);
  write(ring, 10);
  assert.equal(gate.open(), true);
  write(ring, 1);
  assert.equal(gate.open(), false);
  for (let i = 0; i < 5; i++) reader.next();
  assert.equal(gate.open(), true);
  write(ring, 20);
  assert.equal(gate.open(), false);
  gate.delete(reader);
  assert.equal(gate.size, 0);
  assert.equal(gate.open(), true);
});

test('a reader that stays behind longer than maxStallMs no longer holds ingest back', () => {
  const ring = new RingBuffer<HubbleEvent>(63);
  let now = 1;
  const gate = new IngestGate(ring, 10, 100, () => now);
  const stuck = follower(ring);
  const live = follower(ring);
  gate.add(stuck);
  gate.add(live);
  write(ring, 20);
  for (let i = 0; i < 20; i++) live.next();
  assert.equal(gate.open(), false);
  now = 100;
  assert.equal(gate.open(), false);
  now = 101;
  assert.equal(gate.open(), true, 'stuck for 100 ms: left to lose flows');
  // Once it catches up it counts again.
  for (let i = 0; i < 20; i++) stuck.next();
  assert.equal(gate.open(), true);
  write(ring, 11);
  for (let i = 0; i < 11; i++) live.next();
  assert.equal(gate.open(), false);
});

test('maxLag never exceeds half the ring', () => {
  const ring = new RingBuffer<HubbleEvent>(15);
  const gate = new IngestGate(ring, 2048, 1000, () => 1);
  gate.add(follower(ring));
  write(ring, 7);
  assert.equal(gate.open(), true);
  write(ring, 1);
  assert.equal(gate.open(), false);
});

test('whenOpen: resumes at once when open, else on the progress that reopens it, once', () => {
  const ring = new RingBuffer<HubbleEvent>(63);
  const gate = new IngestGate(ring, 10, 1000, () => 1);
  let resumed = 0;
  gate.whenOpen(() => resumed++);
  assert.equal(resumed, 1, 'open: at once');
  const reader = follower(ring);
  gate.add(reader);
  write(ring, 20);
  gate.whenOpen(() => resumed++);
  assert.equal(resumed, 1, 'closed: waits');
  for (let i = 0; i < 5; i++) reader.next();
  gate.progress();
  assert.equal(resumed, 1, 'still 15 behind');
  for (let i = 0; i < 15; i++) reader.next();
  gate.progress();
  assert.equal(resumed, 2, 'caught up: resumed');
  gate.progress();
  assert.equal(resumed, 2, 'only once');
  write(ring, 20);
  gate.whenOpen(() => resumed++);
  gate.delete(reader);
  assert.equal(resumed, 3, 'the lagging reader left: resumed');
});

test('whenOpen: a reader stalled past maxStallMs stops holding ingest back without any progress', async () => {
  const ring = new RingBuffer<HubbleEvent>(63);
  const gate = new IngestGate(ring, 10, 20);
  const stuck = follower(ring);
  gate.add(stuck);
  write(ring, 20);
  assert.equal(gate.open(), false);
  await new Promise<void>((resolve) => gate.whenOpen(resolve));
  assert.equal(gate.open(), true);
  gate.delete(stuck);
});

test('a reader that lags but keeps moving holds ingest back past maxStallMs; once it stops moving it is let go', () => {
  const ring = new RingBuffer<HubbleEvent>(63);
  let now = 1;
  const gate = new IngestGate(ring, 10, 100, () => now, 1000);
  const slow = follower(ring);
  gate.add(slow);
  write(ring, 30);
  assert.equal(gate.open(), false);
  for (let step = 0; step < 5; step++) {
    now += 90;
    slow.next();
    assert.equal(gate.open(), false, `moving at ${now} ms: still held`);
  }
  now += 99;
  assert.equal(gate.open(), false, 'no progress for 99 ms: held');
  now += 1;
  assert.equal(gate.open(), true, 'no progress for 100 ms: let go');
});

test('a reader that keeps moving but stays behind is let go after maxHoldMs of lagging', () => {
  const ring = new RingBuffer<HubbleEvent>(63);
  let now = 1;
  const gate = new IngestGate(ring, 10, 100, () => now, 300);
  const slow = follower(ring);
  gate.add(slow);
  write(ring, 30);
  assert.equal(gate.open(), false);
  now += 90;
  slow.next();
  assert.equal(gate.open(), false);
  now += 90;
  slow.next();
  assert.equal(gate.open(), false, 'lagging for 180 ms');
  now += 90;
  slow.next();
  assert.equal(gate.open(), false, 'lagging for 270 ms');
  now += 30;
  slow.next();
  assert.equal(gate.open(), true, 'lagging for 300 ms: let go although it moves');
  for (let i = 0; i < 30; i++) slow.next();
  assert.equal(gate.open(), true);
  write(ring, 11);
  assert.equal(gate.open(), false, 'caught up once: it counts again');
});
