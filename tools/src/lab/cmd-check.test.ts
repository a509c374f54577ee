import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expectedCases, l7Outcome, nodeCases, planChecks, scopeOf, summarize, type CheckResult } from './cmd-check.js';
import { formatTable } from './cmd-status.js';

test('with the demo policy only client->web:80 is allowed, there GET /public but not /private; without it everything is', () => {
  assert.deepEqual(
    expectedCases(true).map((c) => `${c.from}->${c.to}:${c.port}${c.path ?? ''} ${c.expect}`),
    ['client->web:80 allowed', 'client->web:80/public allowed', 'client->web:80/private denied', 'client->web:8080 denied', 'other->web:80 denied'],
  );
  assert.ok(expectedCases(false).every((c) => c.expect === 'allowed'));
});

test('tables align columns to the widest cell', () => {
  assert.equal(formatTable(['A', 'BB'], [['xyz', '1'], ['', '22']]), 'A    BB\nxyz  1\n     22');
});

test('an L7 probe is allowed on a 2xx answer, denied only on the proxy\'s 403 Access denied', () => {
  assert.equal(l7Outcome(0, 'ok 200 n1-web port 80'), 'allowed');
  assert.equal(l7Outcome(0, 'ok 403 Access denied'), 'denied');
  assert.equal(l7Outcome(0, 'ok 403 Forbidden by the app'), undefined, 'another 403 is not the proxy\'s');
  assert.equal(l7Outcome(1, 'fail timeout after 2000 ms'), undefined, 'a drop is no L7 verdict');
  assert.equal(l7Outcome(0, 'ok 400 Bad Request'), undefined);
});

test('every ordered node pair gets the five pod cases, same-node pairs first, then node to remote pod', () => {
  const plan = planChecks([1, 2], true);
  assert.equal(plan.length, 24);
  assert.deepEqual(
    [...new Set(plan.map((c) => `${scopeOf(c)} n${c.srcNode}->n${c.dstNode}`))],
    ['same-node n1->n1', 'same-node n2->n2', 'cross-node n1->n2', 'cross-node n2->n1', 'node-to-remote-pod n1->n2', 'node-to-remote-pod n2->n1'],
  );
  assert.deepEqual(plan.filter((c) => c.from === 'node' && c.srcNode === 1).map((c) => `${c.to}:${c.proto ?? 'tcp'}:${c.port} ${c.expect}`), [
    'client:icmp:0 allowed',
    'web:tcp:80 denied',
  ]);
  assert.ok(expectedCases(false, nodeCases).every((c) => c.expect === 'allowed'), 'without the policy the node reaches web too');
  assert.deepEqual(plan.filter((c) => c.srcNode === 2 && c.dstNode === 1 && c.from !== 'node').map((c) => `${c.from}:${c.port}${c.path ?? ''} ${c.expect}`), [
    'client:80 allowed',
    'client:80/public allowed',
    'client:80/private denied',
    'client:8080 denied',
    'other:80 denied',
  ]);
});

test('a dual-stack plan repeats every case over IPv6 after the IPv4 ones', () => {
  const plan = planChecks([1, 2], true, [4, 6]);
  assert.equal(plan.length, 48);
  assert.deepEqual(plan.slice(0, 24).map((c) => c.family), Array(24).fill(4));
  assert.deepEqual(plan.slice(24).map((c) => c.family), Array(24).fill(6));
  const results: CheckResult[] = plan.map((c) => ({ ...c, target: 'x', got: c.expect, reply: c.expect === 'allowed', detail: '', ok: true }));
  assert.deepEqual(
    summarize(results).map((r) => `${r.category} ${r.passed}/${r.total}`),
    [
      'same-node allowed 2/2',
      'same-node L7 allowed (HTTP 2xx) 2/2',
      'same-node denied by policy 4/4',
      'same-node L7 denied (HTTP 403 Access denied) 2/2',
      'cross-node allowed 2/2',
      'cross-node L7 allowed (HTTP 2xx) 2/2',
      'cross-node denied by policy 4/4',
      'cross-node L7 denied (HTTP 403 Access denied) 2/2',
      'node-to-remote-pod allowed 2/2',
      'node-to-remote-pod denied by policy 2/2',
      'same-node allowed (IPv6) 2/2',
      'same-node L7 allowed (HTTP 2xx) (IPv6) 2/2',
      'same-node denied by policy (IPv6) 4/4',
      'same-node L7 denied (HTTP 403 Access denied) (IPv6) 2/2',
      'cross-node allowed (IPv6) 2/2',
      'cross-node L7 allowed (HTTP 2xx) (IPv6) 2/2',
      'cross-node denied by policy (IPv6) 4/4',
      'cross-node L7 denied (HTTP 403 Access denied) (IPv6) 2/2',
      'node-to-remote-pod allowed (IPv6) 2/2',
      'node-to-remote-pod denied by policy (IPv6) 2/2',
      'reply traffic (allowed flows) 20/20',
    ],
  );
});

test('the summary counts passes per scope and verdict, and replies of allowed flows', () => {
  const results: CheckResult[] = planChecks([1, 2], true).map((c) => {
    const broken = c.from !== 'node' && c.srcNode === 1 && c.dstNode === 2 && c.expect === 'allowed';
    const got = broken ? 'denied' : c.expect;
    return { ...c, target: 'x', got, reply: got === 'allowed', detail: '', ok: got === c.expect };
  });
  assert.deepEqual(summarize(results), [
    { category: 'same-node allowed', passed: 2, total: 2 },
    { category: 'same-node L7 allowed (HTTP 2xx)', passed: 2, total: 2 },
    { category: 'same-node denied by policy', passed: 4, total: 4 },
    { category: 'same-node L7 denied (HTTP 403 Access denied)', passed: 2, total: 2 },
    { category: 'cross-node allowed', passed: 1, total: 2 },
    { category: 'cross-node L7 allowed (HTTP 2xx)', passed: 1, total: 2 },
    { category: 'cross-node denied by policy', passed: 4, total: 4 },
    { category: 'cross-node L7 denied (HTTP 403 Access denied)', passed: 2, total: 2 },
    { category: 'node-to-remote-pod allowed', passed: 2, total: 2 },
    { category: 'node-to-remote-pod denied by policy', passed: 2, total: 2 },
    { category: 'reply traffic (allowed flows)', passed: 8, total: 10 },
  ]);
});
