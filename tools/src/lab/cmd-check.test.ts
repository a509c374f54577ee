import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expectedCases } from './cmd-check.js';
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
