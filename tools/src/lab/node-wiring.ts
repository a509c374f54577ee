// How lab nodes reach each other: the "fabric", a bridge in its own namespace
// `cts-<lab>-fabric` with one veth per node. In node i's namespace the veth end is `node0`
// holding 192.168.200.<i>/24 (the agent's --node-ip); in the fabric namespace its peer
// `n<i>` is a port of the bridge. In a dual-stack lab node0 also holds
// fd00:192:168:200::<i>/64 (the agent's --node-ipv6). The agents then route each other's
// pod CIDRs over it (native routing). Nothing of it lives in the machine's own namespace.
import { runChecked } from './exec.js';
import type { LabLayout } from './layout.js';

/** Name of the interface holding the node address in a node namespace. */
export const nodeInterface = 'node0';

/** Name of the bridge in the fabric namespace. */
export const fabricBridge = 'fabric0';

/** Prefix length of the node network (192.168.200.0/24). */
export const nodeNetworkPrefixLength = 24;

/** Prefix length of the IPv6 node network (fd00:192:168:200::/64). */
export const nodeNetworkPrefixLengthV6 = 64;

/** Creates the fabric namespace's bridge; the namespace must exist. */
export async function createFabric(layout: LabLayout): Promise<void> {
  const ns = layout.fabricNetns;
  await runChecked(['ip', '-n', ns, 'link', 'add', fabricBridge, 'type', 'bridge']);
  await runChecked(['ip', '-n', ns, 'link', 'set', fabricBridge, 'up']);
}

/** Plugs node i (whose namespace exists) into the fabric and gives it its node address (and IPv6 one). */
export async function addNodeAddress(layout: LabLayout, i: number, ipv6 = false): Promise<void> {
  const ns = layout.nodeNetns(i);
  const fabric = layout.fabricNetns;
  const port = layout.nodeName(i);
  await runChecked(['ip', '-n', fabric, 'link', 'add', port, 'type', 'veth', 'peer', 'name', nodeInterface, 'netns', ns]);
  await runChecked(['ip', '-n', fabric, 'link', 'set', port, 'master', fabricBridge]);
  await runChecked(['ip', '-n', fabric, 'link', 'set', port, 'up']);
  await runChecked(['ip', '-n', ns, 'addr', 'add', `${layout.nodeIp(i)}/${nodeNetworkPrefixLength}`, 'dev', nodeInterface]);
  if (ipv6) {
    // nodad: usable at once; the addresses are unique by construction.
    await runChecked(['ip', '-n', ns, '-6', 'addr', 'add', `${layout.nodeIpv6(i)}/${nodeNetworkPrefixLengthV6}`, 'dev', nodeInterface, 'nodad']);
  }
  await runChecked(['ip', '-n', ns, 'link', 'set', nodeInterface, 'up']);
}
