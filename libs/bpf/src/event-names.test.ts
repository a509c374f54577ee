import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dropReasonText, matchTypeName, MESSAGE_TYPE_NAMES, reasonText, tracePointName } from './event-names.js';
import { DropReason, EventType, MatchType, TracePoint } from './event-record.js';

test('every drop reason the programs emit has Cilium\'s text; unknown codes print as upstream\'s DropReason: "<u8>, 0"', () => {
  assert.equal(dropReasonText(DropReason.policy), 'Policy denied');
  assert.equal(dropReasonText(DropReason.policyDeny), 'Policy denied by denylist');
  for (const code of Object.values(DropReason)) assert.notEqual(dropReasonText(code), String(code), `drop reason ${code} has no text`);
  assert.equal(dropReasonText(200), '200, 0');
  assert.equal(dropReasonText(133 + 256), 'Policy denied');
  assert.equal(dropReasonText(-123), 'Policy denied');
});

test('metrics reasons: 0 is Forwarded, the rest are drop reasons', () => {
  assert.deepEqual([reasonText(0), reasonText(133), reasonText(250)], ['Forwarded', 'Policy denied', '250, 0']);
});

test('trace points, match types and message types the programs emit have names', () => {
  assert.deepEqual(Object.values(TracePoint).map(tracePointName), ['to-endpoint', 'to-proxy', 'to-overlay', 'from-endpoint', 'from-overlay']);
  assert.equal(tracePointName(42), '42');
  assert.deepEqual(Object.values(MatchType).map(matchTypeName), ['none', 'L3-Only', 'L3-L4', 'L4-Only', 'all']);
  assert.deepEqual(Object.values(EventType).map((t) => MESSAGE_TYPE_NAMES[t]), ['drop', 'debug', 'trace', 'policy-verdict']);
});
