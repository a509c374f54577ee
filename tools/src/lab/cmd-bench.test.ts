import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatBenchReport, percentile, rssMiB } from './cmd-bench.js';

test('nearest-rank percentiles', () => {
  const v = Array.from({ length: 100 }, (_, k) => k + 1);
  assert.equal(percentile(v, 50), 50);
  assert.equal(percentile(v, 99), 99);
  assert.equal(percentile(v, 100), 100);
  assert.equal(percentile([7], 99), 7);
  assert.equal(percentile([], 50), 0);
  assert.equal(percentile([1, 2, 3], 0), 1);
});

test('the memory of this process is readable; a missing one reads 0', () => {
  assert.ok(rssMiB(process.pid) > 0);
  assert.equal(rssMiB(2 ** 22 + 1), 0);
});

test('the report prints one row per metric and per agent', () => {
  const text = formatBenchReport({
    nodes: 2,
    podsPerNode: 5,
    labUpSeconds: 14.26,
    podsReadySeconds: 6.4,
    cniAddMs: { p50: 2250, p99: 3519, max: 3519, count: 10 },
    identity: { nodes: 2, labelSets: 200, allocations: 400, seconds: 2.01, perSecond: 199.2, distinctIds: 200 },
    agentRssMiB: [
      { node: 'n1', rssMiB: 128 },
      { node: 'n2', rssMiB: 131 },
    ],
    throughput: { withProgramsGbps: 9.68, withoutProgramsGbps: 10.87, ratio: 0.89, rounds: 3 },
  });
  assert.match(text, /^CNI ADD latency p50 \/ p99 \/ max\s+2250 \/ 3519 \/ 3519 ms$/m);
  assert.match(text, /^identity allocations per second \(etcd\)\s+199\/s /m);
  assert.match(text, /^agent n2 memory \(RSS\)\s+131 MiB$/m);
  assert.match(text, /ratio 0\.89/);
  assert.equal(text.split('\n').length, 9);
});
