import { test } from 'node:test';
import { assertInvalid, assertMatches } from '../testing/filter-assertions.js';
import { labelFilter } from './label.js';

test('label filter: selectors with and without source', () => {
  const src = (...labels: string[]) => ({ source: { labels } });
  assertMatches(labelFilter, { sourceLabel: ['k8s:app=web'] }, [
    ['k8s source', src('k8s:app=web'), true],
    ['wrong source', src('container:app=web'), false],
    ['wrong value', src('k8s:app=db'), false],
  ]);
  assertMatches(labelFilter, { sourceLabel: ['app in (web, db), !debug'] }, [
    ['any source in set', src('container:app=db'), true],
    ['excluded by !debug', src('k8s:app=web', 'k8s:debug=true'), false],
  ]);
  assertMatches(labelFilter, { destinationLabel: ['reserved:world', 'env!=prod'] }, [
    ['reserved label exists', { destination: { labels: ['reserved:world'] } }, true],
    ['second selector: env differs', { destination: { labels: ['k8s:env=dev'] } }, true],
    ['neither', { destination: { labels: ['k8s:env=prod'] } }, false],
    ['no endpoint', {}, false],
  ]);
  assertInvalid(labelFilter, { sourceLabel: ['app=(web'] }, 'source_label');
  assertInvalid(labelFilter, { destinationLabel: ['a,,b'] }, 'destination_label');
});
