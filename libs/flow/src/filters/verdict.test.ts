import { test } from 'node:test';
import { flow } from '@cilium-ts/api';
import { assertMatches } from '../testing/filter-assertions.js';
import { verdictFilter } from './verdict.js';

test('verdict filter', () => {
  assertMatches(verdictFilter, { verdict: [flow.Verdict.DROPPED, flow.Verdict.AUDIT] }, [
    ['dropped', { verdict: flow.Verdict.DROPPED }, true],
    ['audit', { verdict: flow.Verdict.AUDIT }, true],
    ['forwarded', { verdict: flow.Verdict.FORWARDED }, false],
  ]);
});
