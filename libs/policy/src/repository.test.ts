import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LabelSet } from './label-set.js';
import { Repository } from './repository.js';
import type { Rule } from './rule.js';
import { PolicyValidationError } from './validation-error.js';

const rule = (labels: string[], app = 'web'): Rule => ({ endpointSelector: { matchLabels: { app } }, ingress: [{}], labels });

test('add bumps the revision; get filters by labels and returns copies', () => {
  const repo = new Repository();
  assert.equal(repo.revision, 1);
  assert.equal(repo.add([rule(['k8s:name=a']), rule(['k8s:name=b', 'k8s:team=x'])]), 2);
  assert.equal(repo.size, 2);
  assert.equal(repo.get().length, 2);
  assert.equal(repo.get(['k8s:team=x']).length, 1);
  assert.equal(repo.get(['k8s:team=y']).length, 0);
  const got = repo.get(['k8s:name=a'])[0]!;
  got.endpointSelector.matchLabels!.app = 'changed';
  assert.equal(repo.get(['k8s:name=a'])[0]!.endpointSelector.matchLabels!.app, 'web');
  assert.equal(repo.add([]), 2);
});

test('add validates every rule and changes nothing when one is invalid', () => {
  const repo = new Repository();
  repo.add([rule(['k8s:name=a'])]);
  const bad = { endpointSelector: { matchLabels: { app: 'x' } }, ingress: [{ toPorts: [{ ports: [{ port: '80x' }] }] }] } as unknown as Rule;
  assert.throws(
    () => repo.add([rule(['k8s:name=b']), bad]),
    (e: unknown) => e instanceof PolicyValidationError && e.errors[0]!.path === '[1].ingress[0].toPorts[0].ports[0].port' && e.source === 'Repository.add',
  );
  assert.equal(repo.size, 1);
  assert.equal(repo.revision, 2);
});

test('replaceWithLabels replaces rules carrying the new rules\' labels', () => {
  const repo = new Repository();
  repo.add([rule(['k8s:name=a'], 'v1'), rule(['k8s:name=b'], 'v1'), rule([], 'v1')]);
  repo.add([rule(['k8s:name=a'], 'v2'), rule([], 'v2')], { replaceWithLabels: true });
  assert.deepEqual(
    repo.get().map((r) => `${r.labels?.join(',') ?? '-'}:${r.endpointSelector.matchLabels!.app}`),
    ['k8s:name=b:v1', '-:v1', 'k8s:name=a:v2', '-:v2'],
  );
  repo.add([rule(['k8s:name=a'], 'v3')]);
  assert.equal(repo.get(['k8s:name=a']).length, 2);
});

test('deleteByLabels deletes rules containing all the labels; deleteAll empties', () => {
  const repo = new Repository();
  repo.add([rule(['k8s:name=a', 'k8s:ns=x']), rule(['k8s:name=b', 'k8s:ns=x']), rule(['k8s:name=c'])]);
  assert.deepEqual(repo.deleteByLabels(['k8s:ns=y']), { deleted: 0, revision: 2 });
  assert.deepEqual(repo.deleteByLabels(['k8s:ns=x', 'k8s:name=a']), { deleted: 1, revision: 3 });
  assert.deepEqual(repo.deleteByLabels(['k8s:ns=x']), { deleted: 1, revision: 4 });
  assert.throws(() => repo.deleteByLabels([]), PolicyValidationError);
  assert.throws(() => repo.deleteByLabels(['=bad']), PolicyValidationError);
  assert.deepEqual(repo.deleteAll(), { deleted: 1, revision: 5 });
  assert.deepEqual(repo.deleteAll(), { deleted: 0, revision: 5 });
  assert.equal(repo.size, 0);
});

test('selecting honours endpoint selectors and never selects the host endpoint', () => {
  const repo = new Repository();
  repo.add([rule(['k8s:n=1'], 'web'), { endpointSelector: {}, egress: [{}] }]);
  assert.deepEqual(repo.selecting(new LabelSet(['k8s:app=web'])).map((s) => s.index), [0, 1]);
  assert.deepEqual(repo.selecting(new LabelSet(['k8s:app=db'])).map((s) => s.index), [1]);
  assert.deepEqual(repo.selecting(new LabelSet(['reserved:host'])), []);
});

test('toJSON / fromJSON round-trip keeps rules and revision', () => {
  const repo = new Repository();
  repo.add([rule(['k8s:name=a'])]);
  repo.add([rule(['k8s:name=b'])]);
  const json = JSON.parse(JSON.stringify(repo)) as { revision: number; rules: Rule[] };
  assert.equal(json.revision, 3);
  const back = Repository.fromJSON(json);
  assert.equal(back.revision, 3);
  assert.deepEqual(back.get(), repo.get());
  assert.throws(() => Repository.fromJSON({ rules: [{ nope: 1 } as unknown as Rule] }), PolicyValidationError);
});
