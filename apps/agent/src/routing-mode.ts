/**
 * The node side of the routing mode. Tunnel: cilium_vxlan, the datapath's tunnel settings
 * and from-overlay. Native: all of that off.
 */
import type { Datapath } from '@cilium-ts/bpf';
import type { Logger } from '@cilium-ts/process';
import type { NodeNetns } from './netns.js';
import { RoutingModeError, type RoutingMode } from './node-routes.js';
import { removeVxlan, setupVxlan, VXLAN_IFNAME, VXLAN_PORT } from './node-setup.js';
import { UnderlayProtocolError, type UnderlayProtocol } from './underlay-protocol.js';

/** What the routing mode needs of the agent's configuration. */
export interface RoutingModeConfig {
  routingMode: RoutingMode;
  underlay: UnderlayProtocol;
  nodeIp: string;
  nodeIpv6?: string;
}

/** Tunnel mode: cilium_vxlan, the tunnel settings and from-overlay. Native: all of that off. */
export async function setupRoutingMode(cfg: RoutingModeConfig, netns: NodeNetns, datapath: Datapath, log: Logger): Promise<void> {
  const target = { ifname: VXLAN_IFNAME, netns: netns.path };
  if (cfg.routingMode === 'tunnel') {
    const underlay = cfg.underlay;
    if (underlay === 'ipv4' && !cfg.nodeIp) throw new RoutingModeError('tunnel', 'needs --node-ip (the IPv4 underlay address other nodes reach this one at)');
    if (underlay === 'ipv6' && !cfg.nodeIpv6) {
      throw new UnderlayProtocolError('ipv6', 'tunnel mode over IPv6 needs --node-ipv6 (the IPv6 underlay address other nodes reach this one at)');
    }
    const ifindex = await setupVxlan(netns);
    // Restart safety: libs/bpf keeps the attached from-overlay when it is the pinned program of this build with the current shared maps.
    const { reattached: attached } = await datapath.attachOverlay(target);
    // Both of the node's addresses: a packet toward either is this node's own (delivered natively).
    datapath.setTunnel({ ifindex, ...(cfg.nodeIp ? { localIpv4: cfg.nodeIp } : {}), ...(cfg.nodeIpv6 ? { localIpv6: cfg.nodeIpv6 } : {}) });
    log.info('tunnel mode', { device: VXLAN_IFNAME, ifindex, port: VXLAN_PORT, underlay, fromOverlay: attached ? 'attached' : 'kept (already current)' });
    return;
  }
  datapath.setTunnel(undefined);
  if (await netns.link(VXLAN_IFNAME)) {
    await datapath.detachOverlay(target);
    await removeVxlan(netns);
  }
}
