import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { flow, Timestamp } from '@cilium-ts/api';
import { RingBuffer, type HubbleEvent } from '@cilium-ts/flow';
import { namespacesOfRing, NAMESPACE_WINDOW_S } from './flow-namespaces.js';

const NOW = 1_800_000_000;

function flowAt(seconds: number, src: string, dst: string): HubbleEvent {
  const time = Timestamp.create({ seconds: BigInt(seconds), nanos: 0 });
  return { kind: 'flow', time, nodeName: 'n1', flow: flow.Flow.fromPartial({ time, source: { namespace: src }, destination: { namespace: dst } }) };
}

describe('namespacesOfRing', () => {
  it('lists both sides of the flows of the last hour, sorted, once each; skips older flows, empty names and other events', () => {
    const ring = new RingBuffer<HubbleEvent>(15);
    ring.write(flowAt(NOW - NAMESPACE_WINDOW_S - 1, 'too-old', 'too-old'));
    ring.write(flowAt(NOW - NAMESPACE_WINDOW_S, 'kube-system', ''));
    ring.write(flowAt(NOW - 5, 'default', 'zeta'));
    ring.write(flowAt(NOW, 'default', 'app'));
    ring.write({ kind: 'lost', time: Timestamp.create({ seconds: BigInt(NOW), nanos: 0 }), nodeName: 'n1', lost: flow.LostEvent.fromPartial({}) });
    assert.deepEqual(
      namespacesOfRing(ring, NOW, 'c1').map((n) => `${n.cluster}/${n.namespace}`),
      ['c1/app', 'c1/default', 'c1/kube-system', 'c1/zeta'],
    );
  });

  it('is empty for an empty ring', () => {
    assert.deepEqual(namespacesOfRing(new RingBuffer<HubbleEvent>(15), NOW, 'default'), []);
  });
});
