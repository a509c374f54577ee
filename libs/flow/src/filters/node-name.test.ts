import { test } from 'node:test';
import { assertInvalid, assertMatches } from '../testing/filter-assertions.js';
import { nodeNameFilter } from './node-name.js';

test('node name filter', () => {
  assertMatches(nodeNameFilter, { nodeName: ['node-*'] }, [
    ['no cluster = default', { nodeName: 'node-1' }, true],
    ['any cluster', { nodeName: 'c1/node-2' }, true],
    ['other node', { nodeName: 'worker-1' }, false],
    ['empty', { nodeName: '' }, false],
  ]);
  assertMatches(nodeNameFilter, { nodeName: ['c1/'] }, [
    ['any node in c1', { nodeName: 'c1/x' }, true],
    ['default cluster', { nodeName: 'x' }, false],
  ]);
  assertInvalid(nodeNameFilter, { nodeName: ['a/b/c'] }, 'node_name');
  assertInvalid(nodeNameFilter, { nodeName: ['no spaces'] }, 'node_name');
});
