// event_type: monitor event type (0 = any) and optionally sub-type.
import type { FlowFilterKind } from './filter.js';

/** The event type filter kind. */
export const eventTypeFilter: FlowFilterKind = {
  name: 'event_type',
  build(ff) {
    if (ff.eventType.length === 0) return [];
    const entries = ff.eventType;
    return [
      (f) => {
        const et = f.eventType;
        if (!et) return false;
        return entries.some((e) => (e.type === 0 || e.type === et.type) && (!e.matchSubType || e.subType === et.subType));
      },
    ];
  },
};
