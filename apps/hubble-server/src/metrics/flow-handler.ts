// `flow`: hubble_flows_processed_total{type, subtype, verdict}.
import { flow } from '@cilium-ts/api';
import { EventType, tracePointName } from '@cilium-ts/bpf/events';
import type { MetricHandler } from './handler.js';

const EVENT_TYPE_NAMES: Record<number, string> = { 1: 'Drop', 2: 'Debug', 3: 'Capture', 4: 'Trace', 5: 'PolicyVerdict', 129: 'L7' };

function l7Subtype(l7: flow.Layer7): string {
  if (l7.http) return 'HTTP';
  if (l7.dns) return 'DNS';
  if (l7.kafka) return 'Kafka';
  return 'Unknown';
}

/** Flows by event type, sub type (trace point, L7 protocol) and verdict. */
export const flowHandler: MetricHandler = {
  name: 'flow',
  options: [],
  create(meter) {
    const processed = meter.createCounter('hubble_flows_processed_total', { description: 'Total number of flows processed' });
    return (f, context) => {
      const type = f.eventType?.type ?? 0;
      const subType = f.eventType?.subType ?? 0;
      let subtype = '';
      if (f.l7) subtype = l7Subtype(f.l7);
      else if (type === EventType.trace) subtype = tracePointName(subType);
      processed.add(1, {
        type: f.l7 ? 'L7' : (EVENT_TYPE_NAMES[type] ?? String(type)),
        subtype,
        verdict: flow.Verdict[f.verdict] ?? String(f.verdict),
        ...context,
      });
    };
  },
};
