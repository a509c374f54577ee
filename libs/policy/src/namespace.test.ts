import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scopePeerSelector, scopeRuleToNamespace } from './namespace.js';

const NS = 'k8s:io.kubernetes.pod.namespace';

test('peer selectors without a namespace get the policy namespace', () => {
  assert.deepEqual(scopePeerSelector({ matchLabels: { app: 'a' } }, 'prod'), { matchLabels: { app: 'a', [NS]: 'prod' } });
  assert.deepEqual(scopePeerSelector({}, 'prod'), { matchLabels: { [NS]: 'prod' } });
  assert.deepEqual(scopePeerSelector({ matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, 'prod'), {
    matchLabels: { [NS]: 'prod' },
    matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }],
  });
});

test('peer selectors naming a namespace positively are kept', () => {
  const a = { matchLabels: { 'io.kubernetes.pod.namespace': 'dev' } };
  assert.deepEqual(scopePeerSelector(a, 'prod'), a);
  const b = { matchExpressions: [{ key: NS, operator: 'In' as const, values: ['dev', 'qa'] }] };
  assert.deepEqual(scopePeerSelector(b, 'prod'), b);
});

test('peer selectors naming a namespace only negatively stay on pods', () => {
  const s = scopePeerSelector({ matchExpressions: [{ key: 'io.kubernetes.pod.namespace', operator: 'NotIn', values: ['prod'] }] }, 'prod');
  assert.deepEqual(s.matchExpressions, [
    { key: 'io.kubernetes.pod.namespace', operator: 'NotIn', values: ['prod'] },
    { key: NS, operator: 'Exists' },
  ]);
});

test('scopeRuleToNamespace forces the endpointSelector namespace and scopes every peer list', () => {
  const r = scopeRuleToNamespace(
    {
      endpointSelector: { matchLabels: { [NS]: 'other', app: 'x' } },
      ingress: [{ fromEndpoints: [{}] }, { fromEntities: ['world'] }],
      ingressDeny: [{ fromEndpoints: [{ matchLabels: { app: 'bad' } }] }],
      egress: [{ toEndpoints: [{ matchLabels: { app: 'db' } }] }],
      egressDeny: [{ toEndpoints: [{}] }],
    },
    'prod',
  );
  assert.deepEqual(r.endpointSelector, { matchLabels: { [NS]: 'prod', app: 'x' } });
  assert.deepEqual(r.ingress![0]!.fromEndpoints, [{ matchLabels: { [NS]: 'prod' } }]);
  assert.deepEqual(r.ingress![1], { fromEntities: ['world'] });
  assert.deepEqual(r.ingressDeny![0]!.fromEndpoints, [{ matchLabels: { app: 'bad', [NS]: 'prod' } }]);
  assert.deepEqual(r.egress![0]!.toEndpoints, [{ matchLabels: { app: 'db', [NS]: 'prod' } }]);
  assert.deepEqual(r.egressDeny![0]!.toEndpoints, [{ matchLabels: { [NS]: 'prod' } }]);
});
