// source_service / destination_service: `[namespace/]name-prefix` against the flow's services.
import type { flow } from '@cilium-ts/api';
import type { FlowFilterKind, FlowPredicate } from './filter.js';
import { namespacedPrefixPredicate } from './pod.js';

const pick = (s: flow.Service | undefined) => (s ? { namespace: s.namespace, name: s.name } : undefined);

/** The service filter kind. */
export const serviceFilter: FlowFilterKind = {
  name: 'service',
  build(ff) {
    const out: FlowPredicate[] = [];
    if (ff.sourceService.length > 0) {
      out.push(namespacedPrefixPredicate('source_service', ff.sourceService, (f) => pick(f.sourceService)));
    }
    if (ff.destinationService.length > 0) {
      out.push(namespacedPrefixPredicate('destination_service', ff.destinationService, (f) => pick(f.destinationService)));
    }
    return out;
  },
};
