import { test } from 'node:test';
import { flow } from '@cilium-ts/api';
import { assertMatches } from '../testing/filter-assertions.js';
import { trafficDirectionFilter } from './traffic-direction.js';

test('traffic direction filter', () => {
  assertMatches(trafficDirectionFilter, { trafficDirection: [flow.TrafficDirection.INGRESS] }, [
    ['ingress', { trafficDirection: flow.TrafficDirection.INGRESS }, true],
    ['egress', { trafficDirection: flow.TrafficDirection.EGRESS }, false],
    ['unknown', {}, false],
  ]);
  assertMatches(trafficDirectionFilter, { trafficDirection: [flow.TrafficDirection.INGRESS, flow.TrafficDirection.EGRESS] }, [
    ['egress with both listed', { trafficDirection: flow.TrafficDirection.EGRESS }, true],
    ['unknown with both listed', {}, false],
  ]);
});
