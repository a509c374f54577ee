// Issue 13 item 5: follow callers that come and go must leave the relay as it was. Rounds of
// 60 `hubble observe -f`-like callers (a child process, killed at the end of each round)
// against a relay over two fake nodes that keep sending flows. Memory is read after forced
// garbage collection. Before the fix every call held a 1 MiB write buffer (1 MiB of
// array buffers per idle caller) and each follow call added a 'change' listener to the
// peer pool, which Node warned about as a leak (MaxListenersExceededWarning) from 11 calls on.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '@cilium-ts/process';
import { startRelay } from './relay.js';
import { runFollowSoak, type SoakSample } from './testing/follow-soak.js';

const CALLS = 60;
const ROUNDS = 3;
const MiB = 1024 * 1024;

describe('hubble-relay memory across rounds of follow callers', () => {
  const warnings: string[] = [];
  const onWarning = (w: Error): void => {
    warnings.push(`${w.name}: ${w.message}`);
  };
  let samples: SoakSample[] = [];

  before(async () => {
    process.on('warning', onWarning);
    samples = await runFollowSoak({
      calls: CALLS,
      rounds: ROUNDS,
      start: (staticPeers) =>
        startRelay({ listenAddresses: ['127.0.0.1:0'], staticPeers, logger: createLogger('hubble-relay-memory-test', { level: 'error' }) }),
    });
    const mb = (n: number): string => (n / MiB).toFixed(1);
    for (const s of samples) {
      console.log(
        `${s.phase}${s.round >= 0 ? ` ${s.round}` : ''}: rss ${mb(s.rss)} MiB, heap ${mb(s.heapUsed)} MiB, array buffers ${mb(s.arrayBuffers)} MiB, ` +
          `pool listeners ${s.poolListeners}, calls ${s.calls}, peer streams ${s.peerStreams}`,
      );
    }
  });

  after(() => {
    process.off('warning', onWarning);
  });

  it('holds a small write buffer per idle follow call', () => {
    const base = samples[0]!;
    for (const s of samples.filter((x) => x.phase === 'during')) {
      assert.equal(s.calls, CALLS);
      assert.equal(s.peerStreams, 2 * CALLS);
      const perCall = (s.arrayBuffers - base.arrayBuffers) / CALLS;
      assert.ok(perCall < 64 * 1024, `round ${s.round}: ${Math.round(perCall / 1024)} KiB of array buffers per follow call`);
    }
  });

  it('returns to its starting memory and listeners after every round', () => {
    const base = samples[0]!;
    for (const s of samples.filter((x) => x.phase === 'after')) {
      assert.equal(s.calls, 0);
      assert.equal(s.peerStreams, 0);
      assert.equal(s.poolListeners, base.poolListeners, `round ${s.round}: pool listeners`);
      assert.ok(s.heapUsed - base.heapUsed < 8 * MiB, `round ${s.round}: heap grew by ${((s.heapUsed - base.heapUsed) / MiB).toFixed(1)} MiB`);
      assert.ok(s.arrayBuffers - base.arrayBuffers < 2 * MiB, `round ${s.round}: array buffers grew by ${((s.arrayBuffers - base.arrayBuffers) / MiB).toFixed(1)} MiB`);
    }
    // Leaks would show as growth from round to round; the first round also warms the code up.
    const afters = samples.filter((x) => x.phase === 'after');
    const growth = afters[afters.length - 1]!.heapUsed - afters[0]!.heapUsed;
    assert.ok(growth < 2 * MiB, `heap grew by ${(growth / MiB).toFixed(2)} MiB from the first to the last round`);
  });

  it('does not warn about listener leaks on the peer pool', () => {
    assert.deepEqual(warnings.filter((w) => w.includes('MaxListenersExceeded')), []);
  });
});
