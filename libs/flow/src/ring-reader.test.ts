import assert from 'node:assert/strict';
import { test } from 'node:test';
import { flow, timestampFromNanos } from '@cilium-ts/api';
import type { HubbleEvent } from './events.js';
import { RingBuffer } from './ring-buffer.js';
import { readEvents, ReadRequestError, validateReadRequest, type ReadOptions, type ReadRequest } from './ring-reader.js';

const SEC = 1_000_000_000n;

function flowAt(sec: number, verdict = flow.Verdict.FORWARDED): HubbleEvent {
  const time = timestampFromNanos(BigInt(sec) * SEC);
  return { kind: 'flow', time, nodeName: 'n', flow: flow.Flow.fromPartial({ time, verdict, nodeName: 'n', Summary: String(sec) }) };
}

function filled(capacity: number, secs: number[]): RingBuffer<HubbleEvent> {
  const r = new RingBuffer<HubbleEvent>(capacity);
  for (const s of secs) r.write(flowAt(s, s % 2 === 0 ? flow.Verdict.DROPPED : flow.Verdict.FORWARDED));
  return r;
}

async function collect(r: RingBuffer<HubbleEvent>, req: Partial<ReadRequest>, opts: Partial<ReadOptions> = {}): Promise<string[]> {
  const out: string[] = [];
  for await (const e of readEvents(r, { number: 0n, follow: false, ...req }, { kind: 'flow', ...opts })) {
    out.push(e.kind === 'flow' ? e.flow.Summary : `${e.kind}:${e.kind === 'lost' ? e.lost.numEventsLost : ''}`);
  }
  return out;
}

const dropped = (e: HubbleEvent) => e.kind === 'flow' && e.flow.verdict === flow.Verdict.DROPPED;
const ts = (sec: number) => timestampFromNanos(BigInt(sec) * SEC);

test('readEvents: last N, all, first N, with filters counting only matches', async () => {
  const r = filled(15, [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(await collect(r, { number: 3n }), ['6', '7', '8']);
  assert.deepEqual(await collect(r, { number: 0n }), ['1', '2', '3', '4', '5', '6', '7', '8']);
  assert.deepEqual(await collect(r, { number: 18446744073709551615n }), ['1', '2', '3', '4', '5', '6', '7', '8']);
  assert.deepEqual(await collect(r, { number: 2n }, { matches: dropped }), ['6', '8']);
  assert.deepEqual(await collect(r, { number: 2n, first: true }), ['1', '2']);
  assert.deepEqual(await collect(r, { number: 2n, first: true }, { matches: dropped }), ['2', '4']);
});

test('readEvents: since / until window', async () => {
  const r = filled(15, [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(await collect(r, { since: ts(5) }), ['5', '6', '7', '8']);
  assert.deepEqual(await collect(r, { since: ts(3), until: ts(5) }), ['3', '4', '5']);
  assert.deepEqual(await collect(r, { since: ts(3), number: 2n }), ['3', '4']);
  assert.deepEqual(await collect(r, { since: ts(3) }, { matches: dropped }), ['4', '6', '8']);
  assert.deepEqual(await collect(r, { number: 20n, until: ts(2) }), ['1', '2']);
});

test('readEvents: agent events and buffered lost events', async () => {
  const r = filled(15, [1, 2]);
  const time = ts(3);
  r.write({ kind: 'agent', time, nodeName: 'n', agent: flow.AgentEvent.fromPartial({ type: flow.AgentEventType.AGENT_STARTED }) });
  r.write({ kind: 'lost', time, nodeName: 'n', lost: flow.LostEvent.fromPartial({ numEventsLost: 4n }) });
  r.write(flowAt(4));
  assert.deepEqual(await collect(r, { number: 1n }), ['4']);
  assert.deepEqual(await collect(r, { number: 2n }), ['2', 'lost:4', '4']);
  assert.deepEqual(await collect(r, { number: 10n }, { includeLost: false }), ['1', '2', '4']);
  const agents: HubbleEvent[] = [];
  for await (const e of readEvents(r, { number: 5n, follow: false }, { kind: 'agent', includeLost: false })) agents.push(e);
  assert.deepEqual(agents.map((e) => e.kind), ['agent']);
});

test('readEvents: follow streams new entries and stops on abort', async () => {
  const r = filled(15, [1, 2, 3]);
  const ac = new AbortController();
  const got: string[] = [];
  const reader = (async () => {
    for await (const e of readEvents(r, { number: 1n, follow: true }, { kind: 'flow', signal: ac.signal })) {
      if (e.kind === 'flow') got.push(e.flow.Summary);
      if (got.length === 3) ac.abort();
    }
  })();
  while (r.waiting === 0) await new Promise((res) => setImmediate(res));
  r.write(flowAt(4));
  while (r.waiting === 0) await new Promise((res) => setImmediate(res));
  r.write(flowAt(5));
  await reader;
  assert.deepEqual(got, ['3', '4', '5']);
  assert.equal(r.waiting, 0);
});

test('readEvents: follow without number starts at the end; abort while waiting frees the waiter', async () => {
  const r = filled(15, [1, 2, 3]);
  const ac = new AbortController();
  const got: string[] = [];
  const reader = (async () => {
    for await (const e of readEvents(r, { number: 0n, follow: true }, { kind: 'flow', signal: ac.signal })) {
      if (e.kind === 'flow') got.push(e.flow.Summary);
    }
  })();
  while (r.waiting === 0) await new Promise((res) => setImmediate(res));
  r.write(flowAt(9));
  while (got.length === 0) await new Promise((res) => setImmediate(res));
  while (r.waiting === 0) await new Promise((res) => setImmediate(res));
  ac.abort();
  await reader;
  assert.deepEqual(got, ['9']);
  assert.equal(r.waiting, 0);
});

test('readEvents: a reader overtaken by the writer gets a lost event', async () => {
  const r = filled(3, [1, 2, 3]);
  const it = readEvents(r, { number: 0n, follow: true, first: false, since: ts(0) }, { kind: 'flow', now: () => ts(99) });
  const first = await it.next();
  assert.ok(!first.done && first.value.kind === 'flow' && first.value.flow.Summary === '1');
  for (const s of [4, 5, 6, 7]) r.write(flowAt(s));
  const lost = await it.next();
  assert.ok(!lost.done && lost.value.kind === 'lost');
  assert.equal(lost.value.lost.numEventsLost, 3n);
  assert.equal(lost.value.lost.source, flow.LostEventSource.HUBBLE_RING_BUFFER);
  const next = await it.next();
  assert.ok(!next.done && next.value.kind === 'flow' && next.value.flow.Summary === '5');
  await it.return(undefined);
});

test('readEvents: first with follow is rejected', async () => {
  await assert.rejects(collect(filled(3, [1]), { first: true, follow: true }), ReadRequestError);
});

test('readEvents: last-N with a filter agrees with a brute-force model', async () => {
  const fc = (await import('fast-check')).default;
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(1, 3, 7, 15), fc.array(fc.boolean(), { maxLength: 40 }), fc.nat(20), async (capacity, drops, n) => {
      const r = new RingBuffer<HubbleEvent>(capacity);
      drops.forEach((d, i) => r.write(flowAt(i + 1, d ? flow.Verdict.DROPPED : flow.Verdict.FORWARDED)));
      const held = drops.map((d, i) => ({ d, s: String(i + 1) })).slice(Math.max(0, drops.length - capacity));
      const matching = held.filter((x) => x.d).map((x) => x.s);
      const want = n === 0 ? matching : matching.slice(Math.max(0, matching.length - n));
      assert.deepEqual(await collect(r, { number: BigInt(n) }, { matches: dropped }), want);
    }),
    { numRuns: 300 },
  );
});

/** [name, request, options, expected output] rows over flows at seconds 1..8 (even = DROPPED). */
const EDGE_ROWS: [string, Partial<ReadRequest>, Partial<ReadOptions>, string[]][] = [
  ['number larger than the buffer = everything', { number: 100n }, {}, ['1', '2', '3', '4', '5', '6', '7', '8']],
  ['number 1 = newest only', { number: 1n }, {}, ['8']],
  ['first without number = everything from the oldest', { first: true }, {}, ['1', '2', '3', '4', '5', '6', '7', '8']],
  ['first with since starts at since', { first: true, number: 2n, since: ts(4) }, {}, ['4', '5']],
  ['first with until stops at until', { first: true, number: 10n, until: ts(3) }, {}, ['1', '2', '3']],
  ['first counts only matches', { first: true, number: 1n }, { matches: dropped }, ['2']],
  ['since after the newest = nothing', { since: ts(9) }, {}, []],
  ['until before the oldest = nothing', { since: ts(0), until: ts(0) }, {}, []],
  ['since equal until = that instant', { since: ts(5), until: ts(5) }, {}, ['5']],
  ['since with number keeps the oldest N after since', { since: ts(2), number: 2n }, { matches: dropped }, ['2', '4']],
  ['number with a filter matching nothing', { number: 3n }, { matches: () => false }, []],
];

for (const [name, req, opts, want] of EDGE_ROWS) {
  test(`readEvents edge: ${name}`, async () => {
    assert.deepEqual(await collect(filled(15, [1, 2, 3, 4, 5, 6, 7, 8]), req, opts), want);
  });
}

test('readEvents: an empty buffer ends a non-follow read at once', async () => {
  assert.deepEqual(await collect(new RingBuffer<HubbleEvent>(7), { number: 20n }), []);
});

test('readEvents: follow with since replays from since, then waits for new entries', async () => {
  const r = filled(15, [1, 2, 3, 4]);
  const ac = new AbortController();
  const got: string[] = [];
  const reader = (async () => {
    for await (const e of readEvents(r, { number: 0n, follow: true, since: ts(3) }, { kind: 'flow', signal: ac.signal })) {
      if (e.kind === 'flow') got.push(e.flow.Summary);
      if (got.length === 3) ac.abort();
    }
  })();
  while (r.waiting === 0) await new Promise((res) => setImmediate(res));
  r.write(flowAt(5));
  await reader;
  assert.deepEqual(got, ['3', '4', '5']);
});

test('readEvents: follow with until ends at the first newer entry', async () => {
  const r = filled(15, [1, 2]);
  const got: string[] = [];
  const reader = (async () => {
    for await (const e of readEvents(r, { number: 1n, follow: true, until: ts(3) }, { kind: 'flow' })) if (e.kind === 'flow') got.push(e.flow.Summary);
  })();
  while (r.waiting === 0) await new Promise((res) => setImmediate(res));
  r.write(flowAt(3));
  while (r.waiting === 0) await new Promise((res) => setImmediate(res));
  r.write(flowAt(4));
  await reader;
  assert.deepEqual(got, ['2', '3']);
});

test('readEvents: follow does not stop at number', async () => {
  const r = filled(15, [1, 2, 3]);
  const ac = new AbortController();
  const got: string[] = [];
  const reader = (async () => {
    for await (const e of readEvents(r, { number: 1n, follow: true }, { kind: 'flow', signal: ac.signal })) {
      if (e.kind === 'flow') got.push(e.flow.Summary);
      if (got.length === 3) ac.abort();
    }
  })();
  for (const s of [4, 5]) {
    while (r.waiting === 0) await new Promise((res) => setImmediate(res));
    r.write(flowAt(s));
  }
  await reader;
  assert.deepEqual(got, ['3', '4', '5']);
});

test('validateReadRequest: bad timestamps and since after until', () => {
  const bad: [Partial<ReadRequest>, string, RegExp][] = [
    [{ since: { seconds: 1n, nanos: 1_000_000_000 } }, 'since', /invalid "since" timestamp/],
    [{ until: { seconds: 1n, nanos: -1 } }, 'until', /invalid "until" timestamp/],
    [{ since: { seconds: 300_000_000_000n, nanos: 0 } }, 'since', /years 1-9999/],
    [{ since: ts(5), until: ts(4) }, 'until', /"until" is before "since"/],
    [{ first: true, follow: true }, 'first', /cannot be combined with "follow"/],
  ];
  for (const [req, field, message] of bad) {
    assert.throws(
      () => validateReadRequest({ number: 0n, follow: false, ...req }),
      (e: unknown) => e instanceof ReadRequestError && e.field === field && message.test(e.message),
    );
  }
  validateReadRequest({ number: 0n, follow: false, since: ts(4), until: ts(4) });
});
