// The namespace list of GetNamespaces (upstream v0.12.3): (cluster, namespace) pairs without
// duplicates, sorted by cluster then namespace. hubble-server builds it from its flows, the
// relay from every peer's answer.
import { observer } from '@cilium-ts/api';

/** compareNamespaces orders by cluster, then namespace (code-unit order, as Go's string sort for ASCII names). */
export function compareNamespaces(a: observer.Namespace, b: observer.Namespace): number {
  if (a.cluster !== b.cluster) return a.cluster < b.cluster ? -1 : 1;
  if (a.namespace !== b.namespace) return a.namespace < b.namespace ? -1 : 1;
  return 0;
}

/** sortedNamespaces drops empty names and duplicate (cluster, namespace) pairs and sorts the rest. */
export function sortedNamespaces(list: Iterable<observer.Namespace>): observer.Namespace[] {
  const seen = new Map<string, observer.Namespace>();
  for (const n of list) {
    if (n.namespace === '') continue;
    seen.set(`${n.cluster}\0${n.namespace}`, observer.Namespace.fromPartial({ cluster: n.cluster, namespace: n.namespace }));
  }
  return [...seen.values()].sort(compareNamespaces);
}
