/**
 * Node-level plumbing in the node namespace: the `cilium_host` interface carrying the
 * router address pods use as their gateway, and IP forwarding. Idempotent. As in
 * Cilium, cilium_host is one end of a veth pair whose other end is `cilium_net`
 * (the kernel here has no dummy driver).
 */
import type { NodeNetns } from './netns.js';

/** Name of the interface that holds the node's router address. */
export const HOST_IFNAME = 'cilium_host';
/** The other end of cilium_host's veth pair. */
export const NET_IFNAME = 'cilium_net';

/**
 * Ensures cilium_host exists with `routerIp/32` (and `routerIpv6/128` when the node runs
 * dual-stack), is up, and forwarding is on for each family.
 */
export async function setupNode(ns: NodeNetns, routerIp: string, routerIpv6?: string): Promise<void> {
  if (!(await ns.link(HOST_IFNAME))) {
    await ns.exec(['ip', 'link', 'add', HOST_IFNAME, 'type', 'veth', 'peer', 'name', NET_IFNAME]);
  }
  await ns.exec(['ip', 'link', 'set', NET_IFNAME, 'up']);
  await ns.exec(['ip', 'addr', 'replace', `${routerIp}/32`, 'dev', HOST_IFNAME]);
  await ns.exec(['ip', 'link', 'set', HOST_IFNAME, 'up']);
  await ns.exec(['ip', 'link', 'set', 'lo', 'up']);
  await ns.sysctl('net.ipv4.ip_forward', '1');
  await ns.sysctl('net.ipv4.conf.all.rp_filter', '0');
  await ns.sysctl('net.ipv4.conf.default.rp_filter', '0');
  if (!routerIpv6) return;
  await ns.sysctl('net.ipv6.conf.all.disable_ipv6', '0');
  await ns.sysctl(`net.ipv6.conf.${HOST_IFNAME}.disable_ipv6`, '0');
  // nodad: the router address is usable at once (pods resolve it through the lxc veth's proxy NDP).
  await ns.exec(['ip', '-6', 'addr', 'replace', `${routerIpv6}/128`, 'dev', HOST_IFNAME, 'nodad']);
  await ns.sysctl('net.ipv6.conf.all.forwarding', '1');
}

/** Name of the VXLAN device of tunnel mode. */
export const VXLAN_IFNAME = 'cilium_vxlan';
/** UDP port of the VXLAN device (Cilium's default, the Linux VXLAN port). */
export const VXLAN_PORT = 8472;

/**
 * Tunnel mode: ensures cilium_vxlan exists in collect-metadata mode (`external`: the
 * datapath, or a route's `encap ip`, sets the remote end and VNI per packet), without ARP
 * (the peer's inner MAC does not matter: from-overlay delivers by address; neighbours of
 * the node's own routes through it need no resolution) and is up. Returns its ifindex.
 */
export async function setupVxlan(ns: NodeNetns): Promise<number> {
  if (!(await ns.link(VXLAN_IFNAME))) {
    await ns.exec(['ip', 'link', 'add', VXLAN_IFNAME, 'type', 'vxlan', 'external', 'dstport', String(VXLAN_PORT)]);
  }
  await ns.exec(['ip', 'link', 'set', VXLAN_IFNAME, 'arp', 'off', 'up']);
  const link = await ns.link(VXLAN_IFNAME);
  if (!link) throw new Error(`set up ${VXLAN_IFNAME}: the device is missing right after creating it; check that the kernel has the vxlan module (modprobe vxlan)`);
  return link.ifindex;
}

/** Native mode: removes cilium_vxlan left by an earlier tunnel-mode run. */
export async function removeVxlan(ns: NodeNetns): Promise<void> {
  if (await ns.link(VXLAN_IFNAME)) await ns.exec(['ip', 'link', 'del', VXLAN_IFNAME], { allowFail: true });
}
