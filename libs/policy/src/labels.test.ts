import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LabelParseError, canonicalLabels, formatLabel, parseLabel, sortedLabels } from './labels.js';

test('parseLabel splits source, key and value', () => {
  assert.deepEqual(parseLabel('k8s:app=web'), { source: 'k8s', key: 'app', value: 'web' });
  assert.deepEqual(parseLabel('reserved:host'), { source: 'reserved', key: 'host', value: '' });
  assert.deepEqual(parseLabel('app=web'), { source: 'unspec', key: 'app', value: 'web' });
  assert.deepEqual(parseLabel('k8s:url=http://x'), { source: 'k8s', key: 'url', value: 'http://x' });
  assert.deepEqual(parseLabel('k8s:io.kubernetes.pod.namespace=prod'), { source: 'k8s', key: 'io.kubernetes.pod.namespace', value: 'prod' });
  assert.deepEqual(parseLabel('cidr:2001:db8::/64'), { source: 'cidr', key: '2001:db8::/64', value: '' });
});

test('parseLabel rejects empty keys and sources with a named error', () => {
  for (const bad of ['', ':x', 'k8s:', 'k8s:=v', '=v']) {
    assert.throws(() => parseLabel(bad), (e: unknown) => e instanceof LabelParseError && e.input === bad, bad);
  }
});

test('formatLabel round-trips', () => {
  for (const s of ['k8s:app=web', 'reserved:host', 'unspec:a=b', 'container:x=']) {
    const f = formatLabel(parseLabel(s));
    assert.equal(formatLabel(parseLabel(f)), f);
  }
  assert.equal(formatLabel(parseLabel('container:x=')), 'container:x');
});

test('canonicalLabels sorts, de-duplicates and joins with ;', () => {
  assert.equal(canonicalLabels(['k8s:b=2', 'k8s:a=1', 'k8s:b=2', 'reserved:host']), 'k8s:a=1;k8s:b=2;reserved:host');
  assert.equal(canonicalLabels([]), '');
  assert.equal(canonicalLabels(['app=x']), 'unspec:app=x');
  assert.deepEqual(sortedLabels(['k8s:z', 'k8s:a']), ['k8s:a', 'k8s:z']);
});
