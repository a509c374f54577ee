import { test } from 'node:test';
import { dnsFilter } from './dns.js';
import { assertInvalid, assertMatches } from '../testing/filter-assertions.js';

test('dns query filter', () => {
  assertMatches(dnsFilter, { dnsQuery: ['cilium\\.io\\.$'] }, [
    ['match', { l7: { dns: { query: 'api.cilium.io.' } } }, true],
    ['no match', { l7: { dns: { query: 'example.com.' } } }, false],
    ['no dns', {}, false],
  ]);
  assertInvalid(dnsFilter, { dnsQuery: ['*x'] }, 'dns_query');
});
