/**
 * Tunnel mode's underlay: the address family of the outer header of VXLAN packets
 * between nodes (upstream Cilium's `--underlay-protocol`). Over IPv4 the remote end of a
 * tunnel is the other node's IPv4 address, over IPv6 its IPv6 address; pods of either
 * family ride either underlay.
 */

/** Address family of the tunnel's outer header. */
export type UnderlayProtocol = 'ipv4' | 'ipv6';

/** VXLAN's overhead over an IPv4 underlay: outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14 bytes. */
export const VXLAN_OVERHEAD_IPV4 = 50;

/** VXLAN's overhead over an IPv6 underlay: outer IPv6 40 + UDP 8 + VXLAN 8 + inner Ethernet 14 bytes. */
export const VXLAN_OVERHEAD_IPV6 = 70;

/** An --underlay-protocol value that is not ipv4 or ipv6, or one the node has no address for. */
export class UnderlayProtocolError extends Error {
  constructor(
    readonly protocol: string,
    reason: string,
  ) {
    super(`--underlay-protocol ${protocol}: ${reason}`);
    this.name = 'UnderlayProtocolError';
  }
}

/** Checks an --underlay-protocol value; throws UnderlayProtocolError naming the accepted ones. */
export function parseUnderlayProtocol(value: string): UnderlayProtocol {
  if (value === 'ipv4' || value === 'ipv6') return value;
  throw new UnderlayProtocolError(value, 'is not one of ipv4, ipv6');
}

/** MTU of a route through the tunnel over a 1500-byte underlay link. */
export function tunnelMtu(underlay: UnderlayProtocol, linkMtu = 1500): number {
  return linkMtu - (underlay === 'ipv6' ? VXLAN_OVERHEAD_IPV6 : VXLAN_OVERHEAD_IPV4);
}

/**
 * The address a remote node is reached at over the underlay: its IPv6 one over an IPv6
 * underlay, else its IPv4 one. A node without an address of the underlay's family is
 * reached over the other family (both ends' cilium_vxlan listen on IPv4 and IPv6).
 */
export function underlayAddress(underlay: UnderlayProtocol, node: { ipv4?: string; ipv6?: string }): string | undefined {
  return underlay === 'ipv6' ? node.ipv6 || node.ipv4 || undefined : node.ipv4 || node.ipv6 || undefined;
}
