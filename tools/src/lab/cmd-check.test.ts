import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expectedCases, planChecks, summarize, type CheckResult } from './cmd-check.js';
import { formatTable } from './cmd-status.js';

test('with the demo policy only client->web:80 is allowed; without it everything is', () => {
  assert.deepEqual(
    expectedCases(true).map((c) => `${c.from}->${c.to}:${c.port} ${c.expect}`),
    ['client->web:80 allowed', 'client->web:8080 denied', 'other->web:80 denied'],
  );
  assert.ok(expectedCases(false).every((c) => c.expect === 'allowed'));
});

test('tables align columns to the widest cell', () => {
  assert.equal(formatTable(['A', 'BB'], [['xyz', '1'], ['', '22']]), 'A    BB\nxyz  1\n     22');
});

test('every ordered node pair gets the three cases, same-node pairs first', () => {
  const plan = planChecks([1, 2], true);
  assert.equal(plan.length, 12);
  assert.deepEqual(
    [...new Set(plan.map((c) => `n${c.srcNode}->n${c.dstNode}`))],
    ['n1->n1', 'n2->n2', 'n1->n2', 'n2->n1'],
  );
  assert.deepEqual(plan.filter((c) => c.srcNode === 2 && c.dstNode === 1).map((c) => `${c.from}:${c.port} ${c.expect}`), [
    'client:80 allowed',
    'client:8080 denied',
    'other:80 denied',
  ]);
});

test('a dual-stack plan repeats every case over IPv6 after the IPv4 ones', () => {
  const plan = planChecks([1, 2], true, [4, 6]);
  assert.equal(plan.length, 24);
  assert.deepEqual(plan.slice(0, 12).map((c) => c.family), Array(12).fill(4));
  assert.deepEqual(plan.slice(12).map((c) => c.family), Array(12).fill(6));
  const results: CheckResult[] = plan.map((c) => ({ ...c, target: 'x', got: c.expect, reply: c.expect === 'allowed', detail: '', ok: true }));
  assert.deepEqual(
    summarize(results).map((r) => `${r.category} ${r.passed}/${r.total}`),
    [
      'same-node allowed 2/2',
      'same-node denied by policy 4/4',
      'cross-node allowed 2/2',
      'cross-node denied by policy 4/4',
      'same-node allowed (IPv6) 2/2',
      'same-node denied by policy (IPv6) 4/4',
      'cross-node allowed (IPv6) 2/2',
      'cross-node denied by policy (IPv6) 4/4',
      'reply traffic (allowed flows) 8/8',
    ],
  );
});

test('the summary counts passes per scope and verdict, and replies of allowed flows', () => {
  const results: CheckResult[] = planChecks([1, 2], true).map((c) => {
    const broken = c.srcNode === 1 && c.dstNode === 2 && c.expect === 'allowed';
    const got = broken ? 'denied' : c.expect;
    return { ...c, target: 'x', got, reply: got === 'allowed', detail: '', ok: got === c.expect };
  });
  assert.deepEqual(summarize(results), [
    { category: 'same-node allowed', passed: 2, total: 2 },
    { category: 'same-node denied by policy', passed: 4, total: 4 },
    { category: 'cross-node allowed', passed: 1, total: 2 },
    { category: 'cross-node denied by policy', passed: 4, total: 4 },
    { category: 'reply traffic (allowed flows)', passed: 3, total: 4 },
  ]);
});
