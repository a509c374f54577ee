// `drop`: hubble_drop_total{reason, protocol}.
import { flow } from '@cilium-ts/api';
import { l4ProtocolName, type MetricHandler } from './handler.js';

/** Dropped flows by drop reason (DropReason enum name, else the code) and L4 protocol. */
export const dropHandler: MetricHandler = {
  name: 'drop',
  options: [],
  create(meter) {
    const drops = meter.createCounter('hubble_drop_total', { description: 'Number of drops' });
    return (f, context) => {
      if (f.verdict !== flow.Verdict.DROPPED) return;
      const known = f.dropReasonDesc !== 0 ? flow.DropReason[f.dropReasonDesc] : undefined;
      const reason = known ?? (f.dropReason !== 0 ? String(f.dropReason) : 'DROP_REASON_UNKNOWN');
      drops.add(1, { reason, protocol: l4ProtocolName(f), ...context });
    };
  },
};
