import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IssueCollector, PolicyValidationError, checkFields, joinPath } from './validation-error.js';

test('joinPath builds dotted / indexed paths and quotes odd keys', () => {
  assert.equal(joinPath('', 'spec'), 'spec');
  assert.equal(joinPath('spec', 'ingress'), 'spec.ingress');
  assert.equal(joinPath('spec.ingress', 0), 'spec.ingress[0]');
  assert.equal(joinPath('', 2), '[2]');
  assert.equal(joinPath('m', 'k8s:app'), 'm["k8s:app"]');
});

test('PolicyValidationError lists every error as <source>: <path>: <why>', () => {
  const e = new PolicyValidationError([{ path: 'a.b', message: 'bad' }, { path: '', message: 'worse' }], 'f.yaml');
  assert.equal(e.name, 'PolicyValidationError');
  assert.equal(e.source, 'f.yaml');
  assert.match(e.message, /^f\.yaml: a\.b: bad$/m);
  assert.match(e.message, /^f\.yaml: <root>: worse$/m);
  assert.match(e.message, /2 errors/);
});

test('IssueCollector throws only when something was recorded; checkFields names unknown and unsupported fields', () => {
  const c = new IssueCollector();
  c.throwIfAny();
  checkFields({ a: 1, b: 2, c: 3 }, 'x', ['a'], c, ['b']);
  assert.deepEqual(c.issues.map((i) => i.path), ['x.b', 'x.c']);
  assert.match(c.issues[0]!.message, /not supported/);
  assert.match(c.issues[1]!.message, /unknown field "c"/);
  assert.throws(() => c.throwIfAny('s'), PolicyValidationError);
});
