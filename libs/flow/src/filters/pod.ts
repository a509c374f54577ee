// source_pod / destination_pod: `[namespace/]name-prefix` (namespace defaults to `default`).
import type { flow } from '@cilium-ts/api';
import { FilterError, type FlowFilterKind, type FlowPredicate } from './filter.js';

/** A parsed `[ns/]prefix` entry. */
export interface NamespacedPrefix {
  namespace: string;
  prefix: string;
}

/** Parses `[ns/]prefix` entries of pod and service filters; empty entries throw FilterError. */
export function parseNamespacedPrefixes(field: string, entries: string[]): NamespacedPrefix[] {
  return entries.map((e) => {
    if (e === '') throw new FilterError(field, e, 'empty value; write [namespace/]name-prefix, e.g. default/xwing or kube-system/');
    const slash = e.indexOf('/');
    return slash < 0 ? { namespace: 'default', prefix: e } : { namespace: e.slice(0, slash), prefix: e.slice(slash + 1) };
  });
}

/** Builds a predicate matching a (namespace, name) pair picked from the flow against `[ns/]prefix` entries. */
export function namespacedPrefixPredicate(
  field: string,
  entries: string[],
  pick: (f: flow.Flow) => { namespace: string; name: string } | undefined,
): FlowPredicate {
  const parsed = parseNamespacedPrefixes(field, entries);
  return (f) => {
    const v = pick(f);
    if (!v || (v.namespace === '' && v.name === '')) return false;
    return parsed.some((p) => p.namespace === v.namespace && v.name.startsWith(p.prefix));
  };
}

/** The pod filter kind. */
export const podFilter: FlowFilterKind = {
  name: 'pod',
  build(ff) {
    const out: FlowPredicate[] = [];
    const pick = (ep: flow.Endpoint | undefined) => (ep ? { namespace: ep.namespace, name: ep.podName } : undefined);
    if (ff.sourcePod.length > 0) out.push(namespacedPrefixPredicate('source_pod', ff.sourcePod, (f) => pick(f.source)));
    if (ff.destinationPod.length > 0) {
      out.push(namespacedPrefixPredicate('destination_pod', ff.destinationPod, (f) => pick(f.destination)));
    }
    return out;
  },
};
