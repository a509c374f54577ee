// The lab's demo NodePort: 0.0.0.0:30080 (every node's address, Cilium's surrogate
// frontend) in front of the web pods of every node on port 8080, served per packet by each
// node's from-netdev (agents run with --enable-node-port, SNAT mode), and the "lab check"
// rows that probe it from outside the cluster: a client namespace on the fabric
// (`cts-<lab>-ext`, a world address) to each node's address, which must reach every web
// pod (the entry node's own and, SNAT'd, the other nodes'). The demo policy lets world
// reach web:8080 (and only that), as a NodePort needs.
import { ciliumArgv } from './cilium-cli.js';
import type { CheckResult, PlannedCheck } from './check-types.js';
import { waitServedEverywhere } from './demo-service.js';
import { CommandFailedError } from './errors.js';
import { run, runChecked } from './exec.js';
import { demoProgram, type LabLayout } from './layout.js';
import { createNetns, inNetns } from './netns.js';
import { fabricBridge, nodeNetworkPrefixLength } from './node-wiring.js';
import type { LabState } from './state-file.js';

/** The demo NodePort service's id (after the ClusterIPs 1 and 2). */
export const demoNodePortId = 3;
/** The NodePort (Kubernetes' range 30000-32767). */
export const demoNodePort = 30080;
/** The web pods' port behind it (the demo policy allows it from world). */
export const demoNodePortBackendPort = 8080;
/** The `to` of a NodePort row. */
export const NODEPORT_TARGET = 'web-nodeport';
/** The `from` of a NodePort row: the client namespace on the fabric. */
export const EXTERNAL_SOURCE = 'world';

/** Namespace of the client outside the cluster, on the fabric. */
export function externalNetns(layout: LabLayout): string {
  return `${layout.netnsPrefix}ext`;
}

/** The external client's address on the node network (after every node's). */
export const externalIp = '192.168.200.200';

/** Creates the external client's namespace and plugs it into the fabric bridge. */
export async function createExternalClient(layout: LabLayout): Promise<void> {
  const ns = externalNetns(layout);
  await createNetns(ns);
  await runChecked(['ip', '-n', layout.fabricNetns, 'link', 'add', 'ext', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
  await runChecked(['ip', '-n', layout.fabricNetns, 'link', 'set', 'ext', 'master', fabricBridge, 'up']);
  await runChecked(['ip', '-n', ns, 'addr', 'add', `${externalIp}/${nodeNetworkPrefixLength}`, 'dev', 'eth0']);
  await runChecked(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
  await runChecked(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
}

/** The web pods (IPv4) behind the NodePort, as `IP:8080`, and their names. */
export function nodePortBackends(state: Pick<LabState, 'pods'>): { backends: string[]; names: string[] } {
  const webs = state.pods.filter((p) => p.name === 'web' && p.ip).sort((a, b) => a.node - b.node);
  return { backends: webs.map((p) => `${p.ip}:${demoNodePortBackendPort}`), names: webs.map((p) => `n${p.node}-web`) };
}

/** The `cilium service update` arguments of the demo NodePort. */
export function nodePortUpdateArgs(state: Pick<LabState, 'pods'>): string[] {
  return ['service', 'update', '--id', String(demoNodePortId), '--frontend', `0.0.0.0:${demoNodePort}`, '--k8s-node-port', '--backends', nodePortBackends(state).backends.join(','), '--name', 'web', '--namespace', 'default'];
}

/** Creates the demo NodePort through node 1's agent (the kvstore carries it to the others). */
export async function createDemoNodePort(layout: LabLayout, state: LabState): Promise<string> {
  const argv = ciliumArgv(layout.agentSocket(1), ...nodePortUpdateArgs(state));
  const r = await run(argv, { timeoutMs: 30_000 });
  if (r.code !== 0) throw new CommandFailedError(argv, r.code, r.stderr || r.stdout);
  await waitServedEverywhere(layout, state, [demoNodePortId]);
  return `0.0.0.0:${demoNodePort} -> ${nodePortBackends(state).names.join(',')}`;
}

/** NodePort rows: the external client to each node's address:30080 (dstNode: the entry node). */
export function planNodePortChecks(nodes: readonly number[]): PlannedCheck[] {
  return nodes.map((n) => ({ from: EXTERNAL_SOURCE, to: NODEPORT_TARGET, port: demoNodePort, expect: 'allowed' as const, srcNode: n, dstNode: n, family: 4 as const }));
}

/** Most connections a probe makes to see every backend (as the VIP rows). */
const NODEPORT_PROBE_TRIES = 64;

/**
 * Probes a NodePort row from the external client: passes when every web pod answered
 * through node dstNode's address (the local one directly, the others SNAT'd).
 */
export async function probeNodePort(layout: LabLayout, state: LabState, c: PlannedCheck): Promise<CheckResult> {
  const node = state.nodes.find((n) => n.index === c.dstNode);
  const target = `${node?.ip ?? '?'}:${demoNodePort}`;
  if (!node) return { ...c, target, got: 'denied', reply: false, detail: `no node ${c.dstNode}`, ok: false };
  const { names } = nodePortBackends(state);
  const argv = inNetns(externalNetns(layout), [process.execPath, demoProgram('vip-probe'), node.ip, String(demoNodePort), '--timeout', '2000', '--expect', names.join(','), '--tries', String(NODEPORT_PROBE_TRIES)]);
  const r = await run(argv, { timeoutMs: 60_000 });
  const detail = (r.stdout.trim() || r.stderr.trim()).split('\n').at(-1) ?? '';
  const got = r.code === 0 || r.code === 3 ? 'allowed' : 'denied';
  return { ...c, target, got, reply: got === 'allowed', detail, ok: r.code === 0 };
}
