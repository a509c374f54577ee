// uuid and trace_id: exact matches on the flow's uuid and on its W3C trace id.
import type { FlowFilterKind, FlowPredicate } from './filter.js';

/** The uuid / trace id filter kind. */
export const flowIdFilter: FlowFilterKind = {
  name: 'flow_id',
  build(ff) {
    const preds: FlowPredicate[] = [];
    if (ff.uuid.length > 0) {
      const set = new Set(ff.uuid);
      preds.push((f) => set.has(f.uuid));
    }
    if (ff.traceId.length > 0) {
      const set = new Set(ff.traceId);
      preds.push((f) => {
        const id = f.traceContext?.parent?.traceId ?? '';
        return id !== '' && set.has(id);
      });
    }
    return preds;
  },
};
