// source_label / destination_label: label selectors against the endpoints' labels.
import type { flow } from '@cilium-ts/api';
import { FilterError, type FlowFilterKind, type FlowPredicate } from './filter.js';
import { LabelSelectorError, parseLabelSelector, type LabelMatcher } from './label-selector.js';

function compile(field: string, selectors: string[], pick: (f: flow.Flow) => flow.Endpoint | undefined): FlowPredicate {
  const matchers: LabelMatcher[] = selectors.map((s) => {
    try {
      return parseLabelSelector(s);
    } catch (err) {
      if (err instanceof LabelSelectorError) throw new FilterError(field, s, `${err.message}; use label-selector syntax like k8s:app=web`);
      throw err;
    }
  });
  return (f) => {
    const ep = pick(f);
    return ep !== undefined && matchers.some((m) => m(ep.labels));
  };
}

/** The label filter kind. */
export const labelFilter: FlowFilterKind = {
  name: 'label',
  build(ff) {
    const out: FlowPredicate[] = [];
    if (ff.sourceLabel.length > 0) out.push(compile('source_label', ff.sourceLabel, (f) => f.source));
    if (ff.destinationLabel.length > 0) out.push(compile('destination_label', ff.destinationLabel, (f) => f.destination));
    return out;
  },
};
