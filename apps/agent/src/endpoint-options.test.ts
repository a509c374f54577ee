import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyEndpointOptionChanges,
  defaultEndpointOptions,
  EndpointOptionError,
  endpointOptionText,
  parseEndpointOptionValue,
  restoreEndpointOptions,
} from './endpoint-options.js';

test('a new endpoint has Debug off', () => {
  assert.deepEqual(defaultEndpointOptions(), { Debug: false });
});

test('option values: true/false, enable/disable, enabled/disabled, on/off in any case', () => {
  for (const v of ['true', 'TRUE', 'enable', 'Enabled', 'on']) assert.equal(parseEndpointOptionValue('Debug', v), true, v);
  for (const v of ['false', 'disable', 'Disabled', 'OFF']) assert.equal(parseEndpointOptionValue('Debug', v), false, v);
  assert.throws(
    () => parseEndpointOptionValue('Debug', 'yes'),
    (e: unknown) => e instanceof EndpointOptionError && e.option === 'Debug' && e.value === 'yes' && /^endpoint option Debug=yes: not a valid value; use true or false/.test(e.message),
  );
});

test('changes apply all or nothing; an unknown option is named with the known ones', () => {
  const cur = defaultEndpointOptions();
  assert.deepEqual(applyEndpointOptionChanges(cur, { Debug: 'true' }), { Debug: true });
  assert.deepEqual(cur, { Debug: false }, 'the input is not changed');
  assert.throws(
    () => applyEndpointOptionChanges(cur, { Debug: 'true', Conntrack: 'false' }),
    (e: unknown) => e instanceof EndpointOptionError && e.option === 'Conntrack' && e.value === undefined && /unknown option; known options: Debug/.test(e.message),
  );
  assert.throws(() => applyEndpointOptionChanges(cur, { debug: 'true' }), EndpointOptionError, 'names are spelled as upstream');
});

test('options from a state file: known booleans kept, anything else defaulted', () => {
  assert.deepEqual(restoreEndpointOptions({ Debug: true, Other: 1 }), { Debug: true });
  assert.deepEqual(restoreEndpointOptions({ Debug: 'yes' }), { Debug: false });
  assert.deepEqual(restoreEndpointOptions(undefined), { Debug: false });
  assert.equal(endpointOptionText(true), 'Enabled');
  assert.equal(endpointOptionText(false), 'Disabled');
});
