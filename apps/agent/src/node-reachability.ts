/**
 * Which cluster nodes this node cannot reach (cilium_unreachable_nodes). Cilium counts
 * the nodes its health probes fail on; here a node is unreachable when it has a pod CIDR
 * and this node has no route toward it: its route could not be installed, or it
 * registered no address this node's routing mode can use (native: the family's node
 * address; tunnel: the underlay address).
 */
import type { NodeInfo } from '@cilium-ts/kvstore';

/** Names of the nodes (other than self) with a pod CIDR that no installed route leads to. */
export function unreachableNodes(self: string, nodes: Iterable<Pick<NodeInfo, 'name' | 'podCIDR' | 'podCIDRv6'>>, routes: ReadonlyArray<{ node: string; podCIDR: string }>): string[] {
  const routed = new Set(routes.map((r) => `${r.node}\0${r.podCIDR}`));
  const out: string[] = [];
  for (const n of nodes) {
    if (n.name === self) continue;
    const cidrs = [n.podCIDR, n.podCIDRv6].filter((c): c is string => !!c);
    if (cidrs.some((c) => !routed.has(`${n.name}\0${c}`))) out.push(n.name);
  }
  return out.sort();
}
