import assert from 'node:assert/strict';
import { test } from 'node:test';
import { memoryLogger } from '@cilium-ts/process/testing';
import { runStartPhase, UndoStack } from './start-phases.js';

test('a failing phase undoes what it and the phases before it acquired, newest first, and rethrows its own error', async () => {
  const { logger, records } = memoryLogger();
  const undo = new UndoStack(logger);
  const done: string[] = [];
  const kv = await runStartPhase('kvstore', undo, logger, () => {
    undo.push(() => void done.push('kvstore closed'), () => void done.push('heartbeat closed'));
    return 'kv';
  });
  assert.equal(kv, 'kv');
  const failure = new Error('cannot open the datapath');
  await assert.rejects(
    runStartPhase('datapath', undo, logger, async () => {
      undo.push(() => void done.push('datapath closed'));
      throw failure;
    }),
    (err) => err === failure,
  );
  assert.deepEqual(done, ['datapath closed', 'heartbeat closed', 'kvstore closed']);
  assert.ok(records.some((r) => r.phase === 'datapath' && r.error === 'cannot open the datapath'), JSON.stringify(records));
  await undo.unwind();
  assert.equal(done.length, 3, 'a second unwind (stop after a failed start) runs nothing twice');
});

test('an undo step that throws is logged and the older steps still run', async () => {
  const { logger, records } = memoryLogger();
  const undo = new UndoStack(logger);
  const done: string[] = [];
  undo.push(() => void done.push('first'));
  undo.push(() => {
    throw new Error('close failed');
  });
  await undo.unwind();
  assert.deepEqual(done, ['first']);
  assert.ok(records.some((r) => r.msg === 'shutdown step failed' && r.error === 'close failed'), JSON.stringify(records));
});
