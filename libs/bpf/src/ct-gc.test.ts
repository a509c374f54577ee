import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ctExpired, ctLifetimeNs, ctState, DEFAULT_CT_TIMEOUTS } from './ct-gc.js';

const S = 1_000_000_000n;

test('CT state follows the protocol and the TCP flags seen', () => {
  assert.equal(ctState({ protocol: 17 }, { tcpFlagsSeen: 0, seenReply: true }), 'non-tcp');
  assert.equal(ctState({ protocol: 6 }, { tcpFlagsSeen: 0x02, seenReply: false }), 'tcp-syn');
  assert.equal(ctState({ protocol: 6 }, { tcpFlagsSeen: 0x12, seenReply: true }), 'tcp-established');
  assert.equal(ctState({ protocol: 6 }, { tcpFlagsSeen: 0x13, seenReply: true }), 'tcp-closing');
  assert.equal(ctState({ protocol: 6 }, { tcpFlagsSeen: 0x14, seenReply: false }), 'tcp-closing');
});

test('closing TCP connections expire sooner than established ones', () => {
  const est = ctLifetimeNs({ protocol: 6 }, { tcpFlagsSeen: 0x12, seenReply: true });
  const closing = ctLifetimeNs({ protocol: 6 }, { tcpFlagsSeen: 0x11, seenReply: true });
  assert.equal(est, BigInt(DEFAULT_CT_TIMEOUTS.tcpEstablished) * S);
  assert.equal(closing, BigInt(DEFAULT_CT_TIMEOUTS.tcpClose) * S);
  assert.ok(closing < est);
});

test('an entry expires once its lifetime has passed since its last packet', () => {
  const v = { tcpFlagsSeen: 0, seenReply: true, lastSeenNs: 100n * S };
  assert.equal(ctExpired({ protocol: 17 }, v, 160n * S), false, 'exactly 60 s is not yet expired');
  assert.equal(ctExpired({ protocol: 17 }, v, 160n * S + 1n), true);
  assert.equal(ctExpired({ protocol: 17 }, v, 161n * S, { ...DEFAULT_CT_TIMEOUTS, nonTcp: 120 }), false);
});
