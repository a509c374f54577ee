import assert from 'node:assert/strict';
import { test } from 'node:test';
import { baselineOf, median } from './bench-throughput.js';
import { formatBenchReport, percentile, rssMiB, tunnelLabName } from './cmd-bench.js';
import { labNamePattern } from './layout.js';

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
    throughput: [
      { mode: 'native', withProgramsGbps: 9.68, withoutProgramsGbps: 10.87, ratio: 0.89, rounds: 3, baseline: baselineOf.native },
      { mode: 'tunnel', withProgramsGbps: 4.1, withoutProgramsGbps: 5.0, ratio: 0.82, rounds: 3, baseline: baselineOf.tunnel },
    ],
  });
  assert.match(text, /^CNI ADD latency p50 \/ p99 \/ max\s+2250 \/ 3519 \/ 3519 ms$/m);
  assert.match(text, /^identity allocations per second \(etcd\)\s+199\/s /m);
  assert.match(text, /^agent n2 memory \(RSS\)\s+131 MiB$/m);
  assert.match(text, /^native routing\s+9\.68 Gbit\/s\s+10\.87 Gbit\/s\s+0\.89\s+the same routes/m);
  assert.match(text, /^tunnel \(VXLAN\)\s+4\.10 Gbit\/s\s+5\.00 Gbit\/s\s+0\.82\s+kernel VXLAN/m);
  // 1 header + 7 metric rows, a blank line, 1 header + 2 modes, the footnote.
  assert.equal(text.split('\n').length, 13);
});

test('without throughput rows (one node) only the metric table is printed', () => {
  const text = formatBenchReport({
    nodes: 1, podsPerNode: 1, labUpSeconds: 1, podsReadySeconds: 1, cniAddMs: { p50: 1, p99: 1, max: 1, count: 1 },
    identity: { nodes: 1, labelSets: 1, allocations: 1, seconds: 1, perSecond: 1, distinctIds: 1 }, agentRssMiB: [], throughput: [],
  });
  assert.doesNotMatch(text, /CROSS-NODE/);
});

test('medians are the lower middle value; the tunnel lab name stays a valid lab name', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2);
  assert.equal(median([]), 0);
  assert.match(tunnelLabName('benchlab'), labNamePattern);
  assert.match(tunnelLabName('abcdefghijklmnop'), labNamePattern);
});
