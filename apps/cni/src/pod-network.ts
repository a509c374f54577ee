// The pod's side of the datapath wiring: a veth pair whose host end (lxc<hash>) stays in
// the node namespace and whose peer lives in the pod namespace (docs/CONTRACTS.md,
// "Nodes in the lab"). Setup, teardown and check, all through iproute2.
import { createHash } from 'node:crypto';
import { Iproute, type LinkInfo } from './iproute.js';

/** The host-side veth name of a container: `lxc` + the first 11 hex chars of sha256(containerId). */
export function hostIfnameFor(containerId: string): string {
  return `lxc${createHash('sha256').update(containerId).digest('hex').slice(0, 11)}`;
}

/** What the pod's interfaces should look like. */
export interface PodNetworkSpec {
  containerId: string;
  /** Pod network namespace file path. */
  netns: string;
  /** Interface name inside the pod. */
  ifname: string;
  /** Pod IPv4 address (configured as /32). */
  ip: string;
  /** Router address the pod uses as its gateway. */
  gateway: string;
  /** Pod IPv6 address (configured as /128, nodad), when the node runs dual-stack. */
  ipv6?: string;
  /** IPv6 router address (cilium_host); required with ipv6. */
  gateway6?: string;
  /** MTU of both ends; 0 for the default. */
  mtu: number;
}

/** The interfaces setupPodNetwork created. */
export interface PodNetwork {
  hostIfname: string;
  hostIfindex: number;
  hostMac: string;
  podIfindex: number;
  podMac: string;
}

/** A problem checkPodNetwork found. */
export class PodNetworkCheckError extends Error {
  override readonly name = 'PodNetworkCheckError';
  /** The interface at fault. */
  readonly ifname: string;
  constructor(ifname: string, message: string) {
    super(`${ifname}: ${message}`);
    this.ifname = ifname;
  }
}

function mustLink(link: LinkInfo | undefined, where: string, name: string): LinkInfo {
  if (!link) throw new Error(`${name} disappeared from ${where} right after it was created`);
  return link;
}

/**
 * Creates the veth pair, addresses and routes of a pod. On failure the veth pair is
 * deleted again (which also drops its routes and addresses) before the error is rethrown.
 */
export async function setupPodNetwork(spec: PodNetworkSpec): Promise<PodNetwork> {
  const node = new Iproute();
  const pod = new Iproute(spec.netns);
  const host = hostIfnameFor(spec.containerId);
  // A leftover of an earlier, interrupted ADD of the same container: replace it.
  await node.deleteLink(host);
  const mtu = spec.mtu > 0 ? ['mtu', String(spec.mtu)] : [];
  await node.run(['link', 'add', 'name', host, ...mtu, 'type', 'veth', 'peer', 'name', spec.ifname, ...mtu, 'netns', spec.netns]);
  try {
    await pod.run(['link', 'set', 'dev', 'lo', 'up']);
    await pod.run(['addr', 'add', `${spec.ip}/32`, 'dev', spec.ifname]);
    await pod.run(['link', 'set', 'dev', spec.ifname, 'up']);
    await pod.run(['route', 'add', spec.gateway, 'dev', spec.ifname, 'scope', 'link']);
    await pod.run(['route', 'add', 'default', 'via', spec.gateway, 'dev', spec.ifname]);
    await node.setIpv4ConfSysctl(host, 'proxy_arp', '1');
    await node.run(['link', 'set', 'dev', host, 'up']);
    await node.run(['route', 'replace', `${spec.ip}/32`, 'dev', host]);
    if (spec.ipv6 && spec.gateway6) await setupIpv6(node, pod, host, spec.ifname, spec.ipv6, spec.gateway6);
    const hostLink = mustLink(await node.link(host), 'the node namespace', host);
    const podLink = mustLink(await pod.link(spec.ifname), spec.netns, spec.ifname);
    return {
      hostIfname: host,
      hostIfindex: hostLink.ifindex,
      hostMac: hostLink.address,
      podIfindex: podLink.ifindex,
      podMac: podLink.address,
    };
  } catch (err) {
    await node.deleteLink(host).catch(() => undefined);
    throw err;
  }
}

/**
 * IPv6 of a pod: `ipv6/128` (nodad) on the pod interface, `<gateway6> dev <ifname>` and
 * `default via <gateway6>`; on the node side a /128 route to the pod and proxy NDP for the
 * router address, answered at once (proxy_delay 0), so the pod resolves its gateway on
 * the veth although the address lives on cilium_host.
 */
async function setupIpv6(node: Iproute, pod: Iproute, host: string, ifname: string, ipv6: string, gateway6: string): Promise<void> {
  await pod.run(['-6', 'addr', 'add', `${ipv6}/128`, 'dev', ifname, 'nodad']);
  await pod.run(['-6', 'route', 'add', gateway6, 'dev', ifname]);
  await pod.run(['-6', 'route', 'add', 'default', 'via', gateway6, 'dev', ifname]);
  await node.setIpv6Sysctl('conf', host, 'forwarding', '1');
  await node.setIpv6Sysctl('conf', host, 'proxy_ndp', '1');
  await node.setIpv6Sysctl('neigh', host, 'proxy_delay', '0');
  await node.run(['-6', 'neigh', 'replace', 'proxy', gateway6, 'dev', host]);
  await node.run(['-6', 'route', 'replace', `${ipv6}/128`, 'dev', host]);
}

/** Deletes the pod's veth pair if it exists (idempotent); resolves true when something was deleted. */
export async function teardownPodNetwork(containerId: string): Promise<boolean> {
  return new Iproute().deleteLink(hostIfnameFor(containerId));
}

/** Verifies that the veth pair, the pod address and the pod routes are in place; throws PodNetworkCheckError. */
export async function checkPodNetwork(spec: Omit<PodNetworkSpec, 'mtu'>): Promise<void> {
  const node = new Iproute();
  const pod = new Iproute(spec.netns);
  const host = hostIfnameFor(spec.containerId);
  const hostLink = await node.link(host);
  if (!hostLink) throw new PodNetworkCheckError(host, 'host-side veth is missing from the node namespace');
  if (!hostLink.flags.includes('UP')) throw new PodNetworkCheckError(host, 'host-side veth is down');
  const hostRoutes = await node.routes(host);
  if (!hostRoutes.some((r) => r.dst === spec.ip || r.dst === `${spec.ip}/32`)) {
    throw new PodNetworkCheckError(host, `route ${spec.ip}/32 dev ${host} is missing`);
  }
  const podLink = await pod.link(spec.ifname);
  if (!podLink) throw new PodNetworkCheckError(spec.ifname, `interface is missing from ${spec.netns}`);
  if (!podLink.flags.includes('UP')) throw new PodNetworkCheckError(spec.ifname, 'interface is down');
  const addrs = await pod.addresses(spec.ifname);
  if (!addrs.some((a) => a.family === 'inet' && a.local === spec.ip && a.prefixlen === 32)) {
    throw new PodNetworkCheckError(spec.ifname, `address ${spec.ip}/32 is missing`);
  }
  const routes = await pod.routes(spec.ifname);
  if (!routes.some((r) => r.dst === spec.gateway && r.scope === 'link')) {
    throw new PodNetworkCheckError(spec.ifname, `route ${spec.gateway} dev ${spec.ifname} scope link is missing`);
  }
  if (!routes.some((r) => r.dst === 'default' && r.gateway === spec.gateway)) {
    throw new PodNetworkCheckError(spec.ifname, `route default via ${spec.gateway} is missing`);
  }
  if (!spec.ipv6) return;
  if (!addrs.some((a) => a.family === 'inet6' && a.local === spec.ipv6 && a.prefixlen === 128)) {
    throw new PodNetworkCheckError(spec.ifname, `address ${spec.ipv6}/128 is missing`);
  }
  const routes6 = await pod.json<{ dst: string; gateway?: string }>(['-6', 'route', 'show', 'dev', spec.ifname]);
  if (!routes6.some((r) => r.dst === 'default' && r.gateway === spec.gateway6)) {
    throw new PodNetworkCheckError(spec.ifname, `route default via ${spec.gateway6} is missing`);
  }
  const hostRoutes6 = await node.json<{ dst: string }>(['-6', 'route', 'show', 'dev', host]);
  if (!hostRoutes6.some((r) => r.dst === spec.ipv6 || r.dst === `${spec.ipv6}/128`)) {
    throw new PodNetworkCheckError(host, `route ${spec.ipv6}/128 dev ${host} is missing`);
  }
}
