import { test } from 'node:test';
import { flow } from '@cilium-ts/api';
import { assertMatches } from '../testing/filter-assertions.js';
import { replyFilter } from './reply.js';

test('reply filter', () => {
  assertMatches(replyFilter, { reply: [false] }, [
    ['explicit false', { isReply: false }, true],
    ['true', { isReply: true }, false],
    ['absent', {}, false],
    ['absent but dropped counts as false', { verdict: flow.Verdict.DROPPED }, true],
  ]);
  assertMatches(replyFilter, { reply: [true] }, [['true', { isReply: true }, true]]);
});
