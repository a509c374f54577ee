// GetNamespaces for one node (upstream v0.12.3 / Cilium 1.14): the namespaces of the flows
// the ring holds that are at most an hour old, both sides of each flow, sorted by cluster
// and namespace. As upstream (LocalObserverServer.trackNamespaces), each namespace's cluster
// is the node's own cluster name (`--cluster-name`, default `default`): flow endpoints carry
// no cluster in v0.12.3's API.
import type { flow, observer } from '@cilium-ts/api';
import { DatapathFlowEvent, sortedNamespaces, type HubbleEvent, type RingBuffer } from '@cilium-ts/flow';

/** NAMESPACE_WINDOW_S is how far back a flow counts (upstream: one hour). */
export const NAMESPACE_WINDOW_S = 3600;

/** namespacesOfRing lists the namespaces of the flows in `ring` no older than NAMESPACE_WINDOW_S before `nowS`, in cluster `cluster`. */
export function namespacesOfRing(ring: RingBuffer<HubbleEvent>, nowS: number, cluster: string): observer.Namespace[] {
  const names = new Set<string>();
  const cutoff = nowS - NAMESPACE_WINDOW_S;
  for (let seq = ring.head - 1; seq >= ring.oldest; seq--) {
    const e = ring.read(seq);
    if (e === undefined || e.kind !== 'flow') continue;
    let src: flow.Endpoint | undefined;
    let dst: flow.Endpoint | undefined;
    let seconds: number;
    if (e instanceof DatapathFlowEvent) {
      seconds = e.seconds;
      src = e.source;
      dst = e.destination;
    } else {
      seconds = Number(e.time.seconds);
      src = e.flow.source;
      dst = e.flow.destination;
    }
    if (seconds < cutoff) continue;
    if (src?.namespace) names.add(src.namespace);
    if (dst?.namespace) names.add(dst.namespace);
  }
  return sortedNamespaces([...names].map((namespace) => ({ cluster, namespace })));
}
