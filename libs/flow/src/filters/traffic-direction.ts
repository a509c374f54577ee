// traffic_direction: INGRESS / EGRESS relative to the observing endpoint.
import type { FlowFilterKind } from './filter.js';

/** The traffic direction filter kind. */
export const trafficDirectionFilter: FlowFilterKind = {
  name: 'traffic_direction',
  build(ff) {
    if (ff.trafficDirection.length === 0) return [];
    const set = new Set(ff.trafficDirection);
    return [(f) => set.has(f.trafficDirection)];
  },
};
