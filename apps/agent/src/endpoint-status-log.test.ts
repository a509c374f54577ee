import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EndpointStatusLog, MaxEndpointLogEntries } from './endpoint-status-log.js';

test('each endpoint keeps its own bounded log, oldest first, forgotten when dropped', () => {
  let t = 0;
  const log = new EndpointStatusLog(() => ++t);
  log.record(1, 'OK', 'ready', 'Endpoint created');
  log.record(2, 'Failure', 'ready', 'Regeneration failed');
  for (let i = 0; i < MaxEndpointLogEntries + 5; i++) log.record(1, 'OK', 'ready', `regenerated ${i}`);
  const one = log.list(1);
  assert.equal(one.length, MaxEndpointLogEntries);
  assert.equal(one[0]!.message, 'regenerated 5', 'the oldest entries fell off');
  assert.equal(one.at(-1)!.message, `regenerated ${MaxEndpointLogEntries + 4}`);
  assert.ok(one.every((e, i) => i === 0 || e.timeMs > one[i - 1]!.timeMs));
  assert.deepEqual(log.list(2).map((e) => [e.code, e.message]), [['Failure', 'Regeneration failed']]);
  log.drop(1);
  assert.deepEqual(log.list(1), []);
});
