/** The ipcache entries of this node's own endpoints, as the API and metadata stream show them. */
import { agent } from '@cilium-ts/api';
import type { Endpoint } from './endpoint-manager.js';

/** The ipcache entries of a local endpoint: its IPv4 address and, when dual-stack, its IPv6 one. */
export function localIpcache(ep: Endpoint, node: { nodeName: string; nodeIp: string }): agent.IPCacheEntry[] {
  const cidrs = [`${ep.ipv4}/32`, ...(ep.ipv6 ? [`${ep.ipv6}/128`] : [])];
  return cidrs.map((cidr) => agent.IPCacheEntry.fromPartial({ cidr, identity: ep.identity, hostIp: node.nodeIp, nodeName: node.nodeName, namespace: ep.namespace, podName: ep.podName }));
}
