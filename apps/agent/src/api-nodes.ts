/**
 * The agent's Nodes service (cilium.agent.v1.Nodes): the cluster's nodes as this agent
 * knows them, for `cilium node list` — its own node (source "local") and every other node
 * registered in the kvstore (source "kvstore"), sorted by name.
 */
import { agent } from '@cilium-ts/api';
import type { ServiceRegistration } from '@cilium-ts/grpc';
import type { NodeInfo } from '@cilium-ts/kvstore';

/** What the Nodes service needs of the running agent. */
export interface NodesServiceDeps {
  /** This node as it registers itself. */
  localNode(): NodeInfo;
  /** Nodes seen in the kvstore (this node's own registration may be among them). */
  clusterNodes(): Iterable<NodeInfo>;
}

/** The ListNodes answer: the local node first merged in, remote nodes after, sorted by name. */
export function listNodes(deps: NodesServiceDeps): agent.ListNodesResponse {
  const local = deps.localNode();
  const byName = new Map<string, agent.Node>();
  for (const n of deps.clusterNodes()) {
    if (n.name === local.name && n.cluster === local.cluster) continue;
    byName.set(n.name, nodeToApi(n, false));
  }
  byName.set(local.name, nodeToApi(local, true));
  const nodes = [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return agent.ListNodesResponse.fromPartial({ nodes });
}

/** A kvstore node registration as an API node. */
export function nodeToApi(n: NodeInfo, local: boolean): agent.Node {
  return agent.Node.fromPartial({
    name: n.name,
    cluster: n.cluster,
    ipv4: n.ipv4 ?? '',
    ipv6: n.ipv6 ?? '',
    podCidr: n.podCIDR ?? '',
    podCidrV6: n.podCIDRv6 ?? '',
    source: local ? 'local' : 'kvstore',
    local,
    hubbleAddress: n.hubbleAddress ?? '',
  });
}

/** Builds the Nodes service registration. */
export function nodesService(deps: NodesServiceDeps): ServiceRegistration {
  const implementation = {
    listNodes: async () => listNodes(deps),
  };
  return { definition: agent.NodesService, implementation };
}
