import { test } from 'node:test';
import { assertInvalid, assertMatches } from '../testing/filter-assertions.js';
import { podFilter } from './pod.js';

test('pod filter: namespace/prefix with default namespace', () => {
  const src = (namespace: string, podName: string) => ({ source: { namespace, podName } });
  assertMatches(podFilter, { sourcePod: ['xwing'] }, [
    ['default ns prefix', src('default', 'xwing-123'), true],
    ['other ns', src('empire', 'xwing-123'), false],
    ['not prefix', src('default', 'tiefighter'), false],
  ]);
  assertMatches(podFilter, { sourcePod: ['kube-system/'] }, [
    ['any pod in ns', src('kube-system', 'coredns-1'), true],
    ['empty pod in ns', src('kube-system', ''), true],
    ['empty endpoint', src('', ''), false],
    ['no endpoint', {}, false],
  ]);
  assertMatches(podFilter, { destinationPod: ['empire/death'] }, [
    ['match', { destination: { namespace: 'empire', podName: 'deathstar-1' } }, true],
    ['source does not count', { source: { namespace: 'empire', podName: 'deathstar-1' } }, false],
  ]);
});

test('pod filter: empty entry is invalid', () => {
  assertInvalid(podFilter, { sourcePod: [''] }, 'source_pod');
});
