import assert from 'node:assert/strict';
import { test } from 'node:test';
import { flow } from '@cilium-ts/api';
import { FilterError } from './filter.js';
import { compileFlowFilters } from './registry.js';

const f = (init: flow.DeepPartial<flow.Flow>) => flow.Flow.fromPartial(init);
const ff = (init: flow.DeepPartial<flow.FlowFilter>) => flow.FlowFilter.fromPartial(init);

test('compileFlowFilters: allowlist OR, AND within a filter, denylist', () => {
  const dropped = f({ verdict: flow.Verdict.DROPPED, IP: { source: '10.0.0.1', destination: '10.0.0.2' } });
  const forwarded = f({ verdict: flow.Verdict.FORWARDED, IP: { source: '10.0.0.3', destination: '10.0.0.2' } });
  const other = f({ verdict: flow.Verdict.FORWARDED, IP: { source: '10.0.0.9', destination: '10.0.0.8' } });
  const allowAll = compileFlowFilters([], []);
  assert.ok(allowAll(dropped) && allowAll(other));
  const either = compileFlowFilters([ff({ verdict: [flow.Verdict.DROPPED] }), ff({ sourceIp: ['10.0.0.3'] })], []);
  assert.deepEqual([either(dropped), either(forwarded), either(other)], [true, true, false]);
  const both = compileFlowFilters([ff({ verdict: [flow.Verdict.FORWARDED], destinationIp: ['10.0.0.2'] })], []);
  assert.deepEqual([both(dropped), both(forwarded), both(other)], [false, true, false]);
  const deny = compileFlowFilters([], [ff({ destinationIp: ['10.0.0.2'] })]);
  assert.deepEqual([deny(dropped), deny(forwarded), deny(other)], [false, false, true]);
  const denyEverything = compileFlowFilters([], [ff({})]);
  assert.equal(denyEverything(other), false);
});

test('compileFlowFilters: an invalid value anywhere throws FilterError', () => {
  assert.throws(() => compileFlowFilters([], [ff({ destinationPort: ['http'] })]), FilterError);
  assert.throws(() => compileFlowFilters([ff({}), ff({ sourceIp: ['1.2.3.4/99'] })], []), /invalid source_ip filter "1.2.3.4\/99"/);
});
