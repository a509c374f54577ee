// How a lab node gets its node address, and (later) how nodes reach each other.
//
// HOOK for cross-node wiring: today every node namespace gets a port-less bridge `node0`
// (a stand-in for a dummy interface: this machine's kernel has no `dummy` link type)
// holding 192.168.200.<i>/32, which the agent is told with --node-ip. Nodes cannot yet
// reach each other. To wire them, replace wireNodes(): e.g. create a bridge namespace
// `cts-<lab>-fabric`, a veth per node (node side `node0` with 192.168.200.<i>/24), and let
// the agents route pod CIDRs (or VXLAN) over it. Everything must stay inside namespaces the
// lab created: never touch the machine's own routes, NAT or firewall.
import { runChecked } from './exec.js';
import type { LabLayout } from './layout.js';

/** Name of the interface holding the node address in a node namespace. */
export const nodeInterface = 'node0';

/** Gives node i its address inside its (already created) namespace. */
export async function addNodeAddress(layout: LabLayout, i: number): Promise<void> {
  const ns = layout.nodeNetns(i);
  await runChecked(['ip', '-n', ns, 'link', 'add', nodeInterface, 'type', 'bridge']);
  await runChecked(['ip', '-n', ns, 'addr', 'add', `${layout.nodeIp(i)}/32`, 'dev', nodeInterface]);
  await runChecked(['ip', '-n', ns, 'link', 'set', nodeInterface, 'up']);
}

/** Connects the nodes to each other; a no-op until cross-node networking lands (see above). */
export async function wireNodes(_layout: LabLayout, _nodes: number): Promise<void> {
  // Intentionally empty: single-node traffic only for now.
}
