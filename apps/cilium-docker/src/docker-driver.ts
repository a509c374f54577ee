// Docker's network and IPAM driver protocol (libnetwork remote drivers), served for one
// node's agent. Addresses come from the agent's IPAM: RequestAddress reserves one for owner
// "docker"; CreateEndpoint hands it over to the endpoint (owner: Docker's endpoint id),
// wires a veth pair and creates the agent endpoint (identity from the container's labels,
// as `container:<key>=<value>`; `io.kubernetes.pod.namespace` becomes its namespace);
// Join tells Docker to move the pair's container side in, with /32 routes to the node's
// router; DeleteEndpoint removes endpoint, veth and addresses; ReleaseAddress frees what
// is still owned by "docker". Every failure rolls back what its call made.
import { containerIdentity } from '@cilium-ts/policy';
import type { Logger } from '@cilium-ts/process';
import { AgentCallError, type DockerAgent } from './agent-client.js';
import { containersAttaching, type ListedContainer } from './docker-api.js';
import { PluginFailedError, PluginRequestError } from './errors.js';
import { createVeth, deleteVeth, vethNames } from './veth.js';

/** The IPAM owner of addresses handed to Docker and not yet attached to an endpoint. */
export const PENDING_OWNER = 'docker';
/** The one pool this driver serves: the node's IPv4 pod CIDR, announced as 0.0.0.0/0 (addresses are /32). */
export const POOL_ID = 'cilium-ts-ipv4';
const POOL = '0.0.0.0/0';
const IPV4_RE = /^(\d{1,3})(\.\d{1,3}){3}$/;

/** What the driver needs from the outside world. */
export interface DriverDeps {
  agent: DockerAgent;
  /** Docker's API socket (to read the attaching container's name and labels). */
  dockerSocket: string;
  /** The node's network namespace name ('' = the plugin's own). */
  nodeNetns: string;
  logger: Logger;
}

type Body = Record<string, unknown>;
type Handler = (body: Body) => Promise<Body>;

function isObject(v: unknown): v is Body {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(method: string, body: Body, key: string): string {
  const v = body[key];
  if (typeof v !== 'string' || v === '') throw new PluginRequestError(method, `${key} is required (a non-empty string), got ${JSON.stringify(v)}`);
  return v;
}

/** "10.200.1.5/32" or "10.200.1.5" -> "10.200.1.5"; PluginRequestError otherwise. */
function ipv4Of(method: string, field: string, cidr: string): string {
  const ip = cidr.split('/')[0]!;
  if (!IPV4_RE.test(ip)) throw new PluginRequestError(method, `${field} "${cidr}" is not an IPv4 address`);
  return ip;
}

function agentError(method: string, err: unknown): Error {
  if (err instanceof PluginRequestError || err instanceof PluginFailedError) return err;
  // The agent's INVALID_ARGUMENT (3) is the caller's mistake (e.g. a label it cannot take).
  if (err instanceof AgentCallError && err.code === 3) return new PluginRequestError(method, err.message);
  return new PluginFailedError(method, (err as Error).message, { cause: err });
}

/**
 * Removes what a Docker endpoint has: the agent's endpoint (and its identity reference),
 * the veth pair and the addresses it owns. Each step is a no-op when its part is gone.
 */
export async function removeEndpoint(d: Pick<DriverDeps, 'agent' | 'nodeNetns'>, endpointId: string): Promise<{ found: boolean; vethRemoved: boolean; released: number }> {
  const found = await d.agent.deleteEndpoint(endpointId);
  const vethRemoved = await deleteVeth(endpointId, d.nodeNetns);
  const released = await d.agent.release(endpointId);
  return { found, vethRemoved, released };
}

/** The protocol's handlers by URL path (`/Plugin.Activate`, `/NetworkDriver.Join`, ...). */
export function dockerDriver(d: DriverDeps): Record<string, Handler> {
  let gateway: string | undefined;
  /** The node's router address (the pods' gateway): learnt once from an allocation that is given back at once. */
  async function routerIp(method: string): Promise<string> {
    if (gateway) return gateway;
    try {
      const lease = await d.agent.allocate(`${PENDING_OWNER}-gateway-probe`);
      await d.agent.release(`${PENDING_OWNER}-gateway-probe`, lease.ip);
      gateway = lease.gateway;
      return gateway;
    } catch (err) {
      throw agentError(method, err);
    }
  }

  /** The container being attached: its name and labels, or a clear error when it cannot be told. */
  async function attachingContainer(method: string, networkId: string): Promise<ListedContainer> {
    let found: ListedContainer[];
    try {
      found = await containersAttaching(d.dockerSocket, networkId);
    } catch (err) {
      throw new PluginFailedError(method, `cannot read the container's labels: ${(err as Error).message}`, { cause: err });
    }
    if (found.length === 1) return found[0]!;
    if (found.length === 0) throw new PluginFailedError(method, `no container is being attached to network ${networkId.slice(0, 12)} (Docker's list shows none without an endpoint)`);
    const names = found.map((c) => c.Names[0] ?? c.Id.slice(0, 12)).join(', ');
    throw new PluginFailedError(method, `containers ${names} are all waiting for network ${networkId.slice(0, 12)}; start them one at a time (their labels decide the identity and Docker does not say which one this endpoint is for)`);
  }

  return {
    '/Plugin.Activate': async () => ({ Implements: ['NetworkDriver', 'IpamDriver'] }),
    '/NetworkDriver.GetCapabilities': async () => ({ Scope: 'local', ConnectivityScope: 'local' }),
    '/NetworkDriver.CreateNetwork': async (b) => {
      const m = 'CreateNetwork';
      str(m, b, 'NetworkID');
      const v4 = Array.isArray(b.IPv4Data) ? (b.IPv4Data as unknown[]) : [];
      if (v4.length !== 1 || !isObject(v4[0]) || v4[0].Pool !== POOL) {
        throw new PluginRequestError(m, `IPv4Data ${JSON.stringify(b.IPv4Data)}: the network must use this plugin's IPAM too (docker network create --driver cilium --ipam-driver cilium NAME, without --subnet)`);
      }
      if (Array.isArray(b.IPv6Data) && b.IPv6Data.length > 0) throw new PluginRequestError(m, 'IPv6 networks are not supported (IPv4 only)');
      return {};
    },
    '/NetworkDriver.DeleteNetwork': async () => ({}),
    '/NetworkDriver.CreateEndpoint': async (b) => {
      const m = 'CreateEndpoint';
      const networkId = str(m, b, 'NetworkID');
      const endpointId = str(m, b, 'EndpointID');
      if (!/^[0-9a-f]{12,64}$/.test(endpointId)) throw new PluginRequestError(m, `EndpointID "${endpointId}" is not a Docker endpoint id (hex)`);
      const iface = isObject(b.Interface) ? b.Interface : {};
      if (typeof iface.Address !== 'string' || iface.Address === '') throw new PluginRequestError(m, 'Interface.Address is missing: use --ipam-driver cilium');
      if (typeof iface.AddressIPv6 === 'string' && iface.AddressIPv6 !== '') throw new PluginRequestError(m, 'Interface.AddressIPv6: IPv6 is not supported (IPv4 only)');
      const ip = ipv4Of(m, 'Interface.Address', iface.Address);
      const ctr = await attachingContainer(m, networkId);
      const { labels, namespace } = containerIdentity(ctr.Labels ?? {});
      const name = (ctr.Names[0] ?? '').replace(/^\//, '');
      let veth: Awaited<ReturnType<typeof createVeth>> | undefined;
      try {
        veth = await createVeth(endpointId, ip, d.nodeNetns).catch((err: Error) => {
          throw new PluginFailedError(m, `veth for ${ip}: ${err.message}`, { cause: err });
        });
        // The address moves from the pending owner to the endpoint (the agent reserves it for it).
        await d.agent.release(PENDING_OWNER, ip);
        const ep = await d.agent.createEndpoint({
          containerId: endpointId, netns: '', ifname: 'eth0', hostIfname: veth.host, ipv4: ip, ipv6: '', labels, podName: name, namespace, mac: veth.peerMac, runtime: 'docker',
        });
        d.logger.info('endpoint created', { endpointID: ep.id, dockerEndpoint: endpointId.slice(0, 12), container: name, identity: ep.identity, ipv4: ip });
        return {};
      } catch (err) {
        if (veth) await deleteVeth(endpointId, d.nodeNetns).catch((e: Error) => d.logger.warn('rollback: deleting veth failed', { error: e.message }));
        await d.agent.release(endpointId).catch(() => undefined);
        d.logger.warn('CreateEndpoint failed, rolled back', { dockerEndpoint: endpointId.slice(0, 12), error: (err as Error).message });
        throw agentError(m, err);
      }
    },
    '/NetworkDriver.EndpointOperInfo': async () => ({ Value: {} }),
    '/NetworkDriver.DeleteEndpoint': async (b) => {
      const m = 'DeleteEndpoint';
      const endpointId = str(m, b, 'EndpointID');
      try {
        const r = await removeEndpoint(d, endpointId);
        d.logger.info('endpoint deleted', { dockerEndpoint: endpointId.slice(0, 12), ...r });
        return {};
      } catch (err) {
        throw agentError(m, err);
      }
    },
    '/NetworkDriver.Join': async (b) => {
      const m = 'Join';
      const endpointId = str(m, b, 'EndpointID');
      str(m, b, 'SandboxKey');
      const gw = await routerIp(m);
      return {
        InterfaceName: { SrcName: vethNames(endpointId).peer, DstPrefix: 'eth' },
        StaticRoutes: [
          { Destination: `${gw}/32`, RouteType: 1 },
          { Destination: '0.0.0.0/0', RouteType: 0, NextHop: gw },
        ],
        DisableGatewayService: true,
      };
    },
    '/NetworkDriver.Leave': async () => ({}),
    '/NetworkDriver.DiscoverNew': async () => ({}),
    '/NetworkDriver.DiscoverDelete': async () => ({}),
    '/NetworkDriver.ProgramExternalConnectivity': async () => ({}),
    '/NetworkDriver.RevokeExternalConnectivity': async () => ({}),
    '/IpamDriver.GetCapabilities': async () => ({ RequiresMACAddress: false }),
    '/IpamDriver.GetDefaultAddressSpaces': async () => ({ LocalDefaultAddressSpace: 'cilium-ts-local', GlobalDefaultAddressSpace: 'cilium-ts-global' }),
    '/IpamDriver.RequestPool': async (b) => {
      const m = 'RequestPool';
      if (b.V6 === true) throw new PluginRequestError(m, 'IPv6 pools are not supported (IPv4 only; drop --ipv6)');
      if (typeof b.Pool === 'string' && b.Pool !== '') throw new PluginRequestError(m, `Pool "${b.Pool}": addresses come from the node's pod CIDR; drop --subnet`);
      return { PoolID: POOL_ID, Pool: POOL, Data: {} };
    },
    '/IpamDriver.ReleasePool': async () => ({}),
    '/IpamDriver.RequestAddress': async (b) => {
      const m = 'RequestAddress';
      if (b.PoolID !== POOL_ID) throw new PluginRequestError(m, `PoolID ${JSON.stringify(b.PoolID)} is not this plugin's (${POOL_ID})`);
      const opts = isObject(b.Options) ? b.Options : {};
      if (opts.RequestAddressType === 'com.docker.network.gateway') return { Address: `${await routerIp(m)}/32`, Data: {} };
      const want = typeof b.Address === 'string' && b.Address !== '' ? ipv4Of(m, 'Address', b.Address) : '';
      try {
        const lease = await d.agent.allocate(PENDING_OWNER, want);
        return { Address: `${lease.ip}/32`, Data: {} };
      } catch (err) {
        throw agentError(m, err);
      }
    },
    '/IpamDriver.ReleaseAddress': async (b) => {
      const m = 'ReleaseAddress';
      const ip = ipv4Of(m, 'Address', str(m, b, 'Address'));
      if (ip === gateway) return {};
      try {
        await d.agent.release(PENDING_OWNER, ip);
      } catch (err) {
        // Attached addresses belong to their endpoint and went with DeleteEndpoint.
        if (err instanceof AgentCallError && err.code === 3) return {};
        throw agentError(m, err);
      }
      return {};
    },
  };
}
