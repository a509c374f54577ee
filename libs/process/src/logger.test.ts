import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger, formatRfc3339Nanos } from './logger.js';
import { memoryLogger } from './testing/memory-logger.js';

test('one JSON object per line: time, level, component, msg, then fields', () => {
  const lines: string[] = [];
  const log = createLogger('agent', { level: 'info', stream: { write: (l: string) => lines.push(l) } });
  log.info('endpoint created', { id: 12, revision: 2n ** 64n - 1n });
  assert.equal(lines.length, 1);
  assert.ok(lines[0]!.endsWith('\n') && !lines[0]!.slice(0, -1).includes('\n'));
  const rec = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.deepEqual(Object.keys(rec), ['time', 'level', 'component', 'msg', 'id', 'revision']);
  assert.match(String(rec.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
  assert.equal(rec.level, 'info');
  assert.equal(rec.component, 'agent');
  assert.equal(rec.msg, 'endpoint created');
  assert.equal(rec.revision, '18446744073709551615');
});

test('levels below the threshold are dropped; child loggers add fields; errors keep stack and fields', () => {
  const { logger, records } = memoryLogger('relay', 'warn');
  logger.debug('no');
  logger.info('no');
  const child = logger.child({ peer: 'node-1' });
  class PeerError extends Error {
    readonly address = '10.0.0.1:4244';
  }
  child.error('dial failed', { error: new PeerError('refused', { cause: new Error('ECONNREFUSED') }), msg: 'ignored' });
  assert.equal(records.length, 1);
  const rec = records[0]!;
  assert.equal(rec.msg, 'dial failed', 'fields cannot override reserved keys');
  assert.equal(rec.peer, 'node-1');
  const error = rec.error as Record<string, unknown>;
  assert.equal(error.message, 'refused');
  assert.equal(error.address, '10.0.0.1:4244');
  assert.match(String(error.stack), /refused/);
  assert.equal((error.cause as Record<string, unknown>).message, 'ECONNREFUSED');
  assert.ok(logger.enabled('error') && !logger.enabled('info'));
});

test('formatRfc3339Nanos keeps all nine digits', () => {
  assert.equal(formatRfc3339Nanos(1_700_000_000_000_000_001n), '2023-11-14T22:13:20.000000001Z');
  assert.equal(formatRfc3339Nanos(1_700_000_000_123_456_789n), '2023-11-14T22:13:20.123456789Z');
});
