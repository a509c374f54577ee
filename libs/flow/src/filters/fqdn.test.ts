import { test } from 'node:test';
import { fqdnFilter } from './fqdn.js';
import { assertInvalid, assertMatches } from '../testing/filter-assertions.js';

test('fqdn filter: wildcards, trailing dot, case', () => {
  assertMatches(fqdnFilter, { destinationFqdn: ['*.Cilium.io.'] }, [
    ['wildcard', { destinationNames: ['api.cilium.io'] }, true],
    ['one of names', { destinationNames: ['x.example.com', 'docs.cilium.io'] }, true],
    ['anchored', { destinationNames: ['cilium.io.evil.com'] }, false],
    ['no names', {}, false],
  ]);
  assertMatches(fqdnFilter, { sourceFqdn: ['example.com'] }, [
    ['exact', { sourceNames: ['example.com'] }, true],
    ['dot is literal', { sourceNames: ['exampleXcom'] }, false],
  ]);
  assertInvalid(fqdnFilter, { sourceFqdn: ['bad name!'] }, 'source_fqdn');
});
