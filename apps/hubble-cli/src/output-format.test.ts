import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from './args.js';
import { resolveOutputFormat } from './output-format.js';

test('-o json is jsonpb unless HUBBLE_COMPAT lists legacy-json-output; tab is table', () => {
  assert.equal(resolveOutputFormat('json', {}), 'jsonpb');
  assert.equal(resolveOutputFormat('JSON', { HUBBLE_COMPAT: '' }), 'jsonpb');
  assert.equal(resolveOutputFormat('json', { HUBBLE_COMPAT: 'foo, Legacy-JSON-Output' }), 'json');
  assert.equal(resolveOutputFormat('jsonpb', { HUBBLE_COMPAT: 'legacy-json-output' }), 'jsonpb');
  assert.equal(resolveOutputFormat('tab', {}), 'table');
  for (const o of ['compact', 'dict', 'table'] as const) assert.equal(resolveOutputFormat(o, {}), o);
  assert.throws(() => resolveOutputFormat('yaml', {}), (e: unknown) => e instanceof UsageError && /invalid output format "yaml"/.test(e.message));
});
