// source_workload / destination_workload: an endpoint's workloads against [kind/]name patterns,
// where an empty kind or name matches any.
import type { flow } from '@cilium-ts/api';
import type { FlowFilterKind, FlowPredicate } from './filter.js';

function matcher(wanted: readonly flow.Workload[], side: (f: flow.Flow) => flow.Endpoint | undefined): FlowPredicate {
  return (f) => {
    const have = side(f)?.workloads ?? [];
    return wanted.some((w) => have.some((h) => (w.kind === '' || w.kind === h.kind) && (w.name === '' || w.name === h.name)));
  };
}

/** The workload filter kind. */
export const workloadFilter: FlowFilterKind = {
  name: 'workload',
  build(ff) {
    const preds: FlowPredicate[] = [];
    if (ff.sourceWorkload.length > 0) preds.push(matcher(ff.sourceWorkload, (f) => f.source));
    if (ff.destinationWorkload.length > 0) preds.push(matcher(ff.destinationWorkload, (f) => f.destination));
    return preds;
  },
};
