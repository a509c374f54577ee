import { test } from 'node:test';
import { eventTypeFilter } from './event-type.js';
import { assertMatches } from '../testing/filter-assertions.js';

test('event type filter: type, any type, sub type 0', () => {
  assertMatches(eventTypeFilter, { eventType: [{ type: 4, matchSubType: true, subType: 0 }] }, [
    ['trace to-endpoint', { eventType: { type: 4, subType: 0 } }, true],
    ['trace from-endpoint', { eventType: { type: 4, subType: 5 } }, false],
    ['drop', { eventType: { type: 1, subType: 0 } }, false],
    ['no event type', {}, false],
  ]);
  assertMatches(eventTypeFilter, { eventType: [{ type: 1 }, { type: 0, matchSubType: true, subType: 133 }] }, [
    ['drop any sub type', { eventType: { type: 1, subType: 140 } }, true],
    ['any type with sub type', { eventType: { type: 5, subType: 133 } }, true],
    ['neither', { eventType: { type: 5, subType: 0 } }, false],
  ]);
});
