// Helpers for the table-driven filter tests (used only by *.test.ts).
import assert from 'node:assert/strict';
import { flow } from '@cilium-ts/api';
import { FilterError, type FlowFilterKind } from '../filters/filter.js';
import { compileFlowFilter } from '../filters/registry.js';

/** A flow given as a partial object. */
export type FlowInit = flow.DeepPartial<flow.Flow>;
/** A filter given as a partial object. */
export type FilterInit = flow.DeepPartial<flow.FlowFilter>;

/** Asserts, for each row, that `filter` compiled with only `kind` matches the flow as expected. */
export function assertMatches(kind: FlowFilterKind, filter: FilterInit, rows: [string, FlowInit, boolean][]): void {
  const ff = flow.FlowFilter.fromPartial(filter);
  const preds = kind.build(ff);
  assert.ok(preds.length > 0, `${kind.name}: the filter should produce a predicate`);
  const all = compileFlowFilter(ff);
  for (const [name, init, expected] of rows) {
    const f = flow.Flow.fromPartial(init);
    assert.equal(preds.every((p) => p(f)), expected, `${kind.name}: ${name}`);
    assert.equal(all(f), expected, `${kind.name} via compileFlowFilter: ${name}`);
  }
}

/** Asserts that compiling `filter` with `kind` throws a FilterError naming `field`. */
export function assertInvalid(kind: FlowFilterKind, filter: FilterInit, field: string): void {
  assert.throws(
    () => kind.build(flow.FlowFilter.fromPartial(filter)),
    (err: unknown) => err instanceof FilterError && err.field === field && err.message.includes(field),
  );
}
