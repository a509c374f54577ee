import { test } from 'node:test';
import { assertMatches } from '../testing/filter-assertions.js';
import { identityFilter } from './identity.js';

test('identity filter', () => {
  assertMatches(identityFilter, { sourceIdentity: [256, 2] }, [
    ['listed', { source: { identity: 256 } }, true],
    ['other', { source: { identity: 257 } }, false],
    ['no endpoint', {}, false],
  ]);
  assertMatches(identityFilter, { destinationIdentity: [42] }, [['destination', { destination: { identity: 42 } }, true]]);
});
