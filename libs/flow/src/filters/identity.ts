// source_identity / destination_identity: the endpoint's numeric security identity.
import type { FlowFilterKind, FlowPredicate } from './filter.js';

/** The identity filter kind. */
export const identityFilter: FlowFilterKind = {
  name: 'identity',
  build(ff) {
    const out: FlowPredicate[] = [];
    if (ff.sourceIdentity.length > 0) {
      const ids = new Set(ff.sourceIdentity);
      out.push((f) => f.source !== undefined && ids.has(f.source.identity));
    }
    if (ff.destinationIdentity.length > 0) {
      const ids = new Set(ff.destinationIdentity);
      out.push((f) => f.destination !== undefined && ids.has(f.destination.identity));
    }
    return out;
  },
};
