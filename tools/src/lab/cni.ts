// Running the CNI plugin the way a container runtime does: exec'd in the node namespace with
// CNI_* environment and the network configuration on stdin.
import { CommandFailedError } from './errors.js';
import { run } from './exec.js';
import { appMain, type LabLayout, repoRoot } from './layout.js';
import { inNetns } from './netns.js';

/** The network configuration a runtime would pass on stdin for a pod; mtu 0 = the kernel default. */
export function cniConfig(layout: LabLayout, node: number, labels: Record<string, string>, mtu = 0): Record<string, unknown> {
  return {
    cniVersion: '1.0.0',
    name: 'cilium-ts',
    type: 'cilium-cni',
    'agent-socket': `unix://${layout.agentSocket(node)}`,
    ...(mtu > 0 ? { mtu } : {}),
    runtimeConfig: { labels },
  };
}

/** The CNI_* environment for one invocation. */
export function cniEnv(layout: LabLayout, node: number, pod: string, command: 'ADD' | 'DEL'): Record<string, string> {
  return {
    CNI_COMMAND: command,
    CNI_CONTAINERID: layout.podContainerId(node, pod),
    CNI_NETNS: `/run/netns/${layout.podNetns(node, pod)}`,
    CNI_IFNAME: 'eth0',
    CNI_PATH: `${repoRoot}/node_modules/.bin:/opt/cni/bin:/usr/lib/cni`,
    // Pod names are unique in their namespace, as in Kubernetes: web-n1, web-n2, ...
    CNI_ARGS: `K8S_POD_NAMESPACE=default;K8S_POD_NAME=${pod}-${layout.nodeName(node)}`,
  };
}

/** The pod's addresses from a CNI result. */
export interface PodIps {
  ip: string;
  /** Present when the plugin set up IPv6 too. */
  ipv6?: string;
}

/** The pod address (without prefix length) from a CNI result; throws if there is none. */
export function podIpFromResult(stdout: string): string {
  return podIpsFromResult(stdout).ip;
}

/** The pod's IPv4 and (if any) IPv6 address from a CNI result; throws if there is no IPv4 one. */
export function podIpsFromResult(stdout: string): PodIps {
  let result: { ips?: { address?: string }[]; code?: number; msg?: string };
  try {
    result = JSON.parse(stdout) as typeof result;
  } catch {
    throw new Error(`the CNI plugin printed no JSON result: ${stdout.slice(0, 300)}`);
  }
  if (typeof result.code === 'number') throw new Error(`the CNI plugin returned error ${result.code}: ${result.msg ?? ''}`);
  const address = result.ips?.[0]?.address;
  if (!address) throw new Error(`the CNI result has no ips[0].address: ${stdout.slice(0, 300)}`);
  const v6 = result.ips?.find((e) => e.address?.includes(':'))?.address;
  return { ip: address.split('/')[0]!, ...(v6 ? { ipv6: v6.split('/')[0]! } : {}) };
}

async function invoke(layout: LabLayout, node: number, pod: string, command: 'ADD' | 'DEL', labels: Record<string, string>, mtu = 0) {
  const argv = inNetns(layout.nodeNetns(node), [process.execPath, appMain('cni')]);
  const r = await run(argv, {
    env: { ...process.env, ...cniEnv(layout, node, pod, command) },
    input: JSON.stringify(cniConfig(layout, node, labels, mtu)),
    // ADD waits for the endpoint's policy to reach the kernel; DEL must not hold up "down".
    timeoutMs: command === 'ADD' ? 60_000 : 15_000,
  });
  return { argv: [...Object.entries(cniEnv(layout, node, pod, command)).map(([k, v]) => `${k}=${v}`), ...argv], r };
}

/** CNI ADD for a pod whose namespace exists (mtu of its veth, 0 = default); returns the pod's addresses. */
export async function cniAdd(layout: LabLayout, node: number, pod: string, labels: Record<string, string>, mtu = 0): Promise<PodIps> {
  const { argv, r } = await invoke(layout, node, pod, 'ADD', labels, mtu);
  if (r.code !== 0) throw new CommandFailedError(argv, r.code, `${r.stdout}\n${r.stderr}`);
  return podIpsFromResult(r.stdout);
}

/** CNI DEL for a pod; returns an error text instead of throwing (DEL is best effort in "down"). */
export async function cniDel(layout: LabLayout, node: number, pod: string, labels: Record<string, string>): Promise<string | undefined> {
  const { r } = await invoke(layout, node, pod, 'DEL', labels);
  return r.code === 0 ? undefined : `${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-3).join(' | ');
}
