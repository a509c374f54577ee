import { test } from 'node:test';
import { assertInvalid, assertMatches } from '../testing/filter-assertions.js';
import { serviceFilter } from './service.js';

test('service filter', () => {
  assertMatches(serviceFilter, { destinationService: ['kube-system/kube-dns'] }, [
    ['match', { destinationService: { namespace: 'kube-system', name: 'kube-dns' } }, true],
    ['other ns', { destinationService: { namespace: 'default', name: 'kube-dns' } }, false],
    ['absent', {}, false],
  ]);
  assertMatches(serviceFilter, { sourceService: ['front'] }, [
    ['default ns prefix', { sourceService: { namespace: 'default', name: 'frontend' } }, true],
  ]);
  assertInvalid(serviceFilter, { sourceService: [''] }, 'source_service');
});
