// verdict: the flow's verdict is one of the listed ones.
import type { FlowFilterKind } from './filter.js';

/** The verdict filter kind. */
export const verdictFilter: FlowFilterKind = {
  name: 'verdict',
  build(ff) {
    if (ff.verdict.length === 0) return [];
    const set = new Set(ff.verdict);
    return [(f) => set.has(f.verdict)];
  },
};
