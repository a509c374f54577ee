import { test } from 'node:test';
import { assertMatches } from '../testing/filter-assertions.js';
import { flowIdFilter } from './flow-id.js';

test('uuid filter', () => {
  assertMatches(flowIdFilter, { uuid: ['6d2f', 'aa01'] }, [
    ['listed', { uuid: 'aa01' }, true],
    ['other', { uuid: 'bb02' }, false],
    ['none', {}, false],
  ]);
});

test('trace id filter', () => {
  assertMatches(flowIdFilter, { traceId: ['4bf92f3577b34da6a3ce929d0e0e4736'] }, [
    ['listed', { traceContext: { parent: { traceId: '4bf92f3577b34da6a3ce929d0e0e4736' } } }, true],
    ['other', { traceContext: { parent: { traceId: '00f067aa0ba902b7' } } }, false],
    ['no trace context', {}, false],
  ]);
});
