import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LabelSet } from './label-set.js';
import { type EndpointSelector, Selector, selectorKeyProblem, splitSelectorKey, validateSelector, withMatchLabel } from './selector.js';
import { IssueCollector } from './validation-error.js';

const ls = (...l: string[]): LabelSet => new LabelSet(l);
const sel = (s: EndpointSelector): Selector => new Selector(s);

test('splitSelectorKey: no prefix means any source', () => {
  assert.deepEqual(splitSelectorKey('app'), { source: 'any', key: 'app' });
  assert.deepEqual(splitSelectorKey('k8s:app'), { source: 'k8s', key: 'app' });
  assert.deepEqual(splitSelectorKey('reserved:host'), { source: 'reserved', key: 'host' });
});

test('matchLabels honours label sources', () => {
  const web = ls('k8s:app=web', 'container:tier=front');
  assert.equal(sel({ matchLabels: { app: 'web' } }).matches(web), true);
  assert.equal(sel({ matchLabels: { 'any:app': 'web' } }).matches(web), true);
  assert.equal(sel({ matchLabels: { 'k8s:app': 'web' } }).matches(web), true);
  assert.equal(sel({ matchLabels: { 'container:app': 'web' } }).matches(web), false);
  assert.equal(sel({ matchLabels: { 'k8s:tier': 'front' } }).matches(web), false);
  assert.equal(sel({ matchLabels: { app: 'web', tier: 'front' } }).matches(web), true);
  assert.equal(sel({ matchLabels: { app: 'db' } }).matches(web), false);
  assert.equal(sel({ matchLabels: { 'reserved:host': '' } }).matches(ls('reserved:host')), true);
});

test('matchExpressions: In, NotIn, Exists, DoesNotExist (Kubernetes semantics)', () => {
  const web = ls('k8s:app=web');
  const none = ls('k8s:other=x');
  const expr = (operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist', values?: string[]): Selector =>
    sel({ matchExpressions: [{ key: 'k8s:app', operator, ...(values ? { values } : {}) }] });
  assert.equal(expr('In', ['web', 'db']).matches(web), true);
  assert.equal(expr('In', ['db']).matches(web), false);
  assert.equal(expr('In', ['web']).matches(none), false);
  assert.equal(expr('NotIn', ['db']).matches(web), true);
  assert.equal(expr('NotIn', ['web']).matches(web), false);
  assert.equal(expr('NotIn', ['web']).matches(none), true);
  assert.equal(expr('Exists').matches(web), true);
  assert.equal(expr('Exists').matches(none), false);
  assert.equal(expr('DoesNotExist').matches(web), false);
  assert.equal(expr('DoesNotExist').matches(none), true);
});

test('empty selector is a wildcard and matches everything', () => {
  assert.equal(sel({}).isWildcard, true);
  assert.equal(sel({}).matches(ls('reserved:world')), true);
  assert.equal(sel({ matchLabels: { a: 'b' } }).isWildcard, false);
});

test('reserved:world selects world-ipv4 and world-ipv6', () => {
  const s = sel({ matchLabels: { 'reserved:world': '' } });
  assert.equal(s.matches(ls('reserved:world-ipv4')), true);
  assert.equal(s.matches(ls('reserved:host')), false);
});

test('validateSelector reports every problem with its path', () => {
  const c = new IssueCollector();
  validateSelector(
    {
      matchLabels: { 'bad key!': 'x', app: 5, ok: 'no spaces' },
      matchExpressions: [
        { key: 'a', operator: 'Equals', values: ['x'] },
        { key: 'a', operator: 'In' },
        { key: 'a', operator: 'Exists', values: ['x'] },
        { operator: 'Exists' },
        'x',
      ],
      extra: true,
    },
    'sel',
    c,
  );
  assert.deepEqual(
    c.issues.map((i) => i.path),
    [
      'sel.extra',
      'sel.matchLabels["bad key!"]',
      'sel.matchLabels.app',
      'sel.matchLabels.ok',
      'sel.matchExpressions[0].operator',
      'sel.matchExpressions[1].values',
      'sel.matchExpressions[2].values',
      'sel.matchExpressions[3].key',
      'sel.matchExpressions[4]',
    ],
  );
  const c2 = new IssueCollector();
  validateSelector([], 'p', c2);
  assert.equal(c2.issues[0]!.path, 'p');
});

test('selectorKeyProblem accepts sourced and prefixed keys, rejects malformed ones', () => {
  for (const ok of ['app', 'k8s:app', 'k8s:io.kubernetes.pod.namespace', 'any:example.com/tier', 'reserved:kube-apiserver', 'cidr:10.0.0.0/8']) {
    assert.equal(selectorKeyProblem(ok), undefined, ok);
  }
  for (const bad of ['', 'k8s:', '-app', 'Example.COM/x', 'a b', ':app', `k8s:${'x'.repeat(64)}`]) {
    assert.notEqual(selectorKeyProblem(bad), undefined, bad);
  }
});

test('withMatchLabel overwrites a key and copies expressions', () => {
  const orig: EndpointSelector = { matchLabels: { a: '1' }, matchExpressions: [{ key: 'b', operator: 'In', values: ['x'] }] };
  const s = withMatchLabel(orig, 'a', '2');
  assert.deepEqual(s, { matchLabels: { a: '2' }, matchExpressions: [{ key: 'b', operator: 'In', values: ['x'] }] });
  assert.equal(orig.matchLabels!.a, '1');
  assert.notEqual(s.matchExpressions![0]!.values, orig.matchExpressions![0]!.values);
});
