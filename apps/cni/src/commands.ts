// The CNI commands: ADD, DEL, CHECK, STATUS, GC and VERSION. Each takes the validated
// environment and config and returns what goes on stdout (or nothing), or throws CniError.
import { stat } from 'node:fs/promises';
import { deletionQueueDir, enqueueDeletion } from '@cilium-ts/grpc/deletion-queue';
import type { CniAgent } from './agent-client.js';
import { CniError, CniErrorCode, asCniError } from './cni-error.js';
import type { CniEnv } from './cni-env.js';
import { buildAddResult, prevResultGateway, prevResultIp, prevResultIpv6, type CniResult } from './cni-result.js';
import { LATEST_VERSION, SUPPORTED_VERSIONS, compareVersions, podIdentityLabels, type NetConfig } from './net-config.js';
import type { PluginLog } from './plugin-log.js';
import { PodNetworkCheckError, checkPodNetwork, hostIfnameFor, setupPodNetwork, teardownPodNetwork } from './pod-network.js';

const IPV4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const IPV6_RE = /^[0-9a-f:]+$/i;

/** What the commands need from the outside world. */
export interface CommandDeps {
  /** Opens a connection to the agent (lazily: nothing is dialled before the first call). */
  connect(target: string, timeoutSeconds: number): CniAgent;
  log: PluginLog;
}

/** The answer to VERSION. */
export function versionInfo(): { cniVersion: string; supportedVersions: string[] } {
  return { cniVersion: LATEST_VERSION, supportedVersions: [...SUPPORTED_VERSIONS] };
}

async function requireNetns(netns: string): Promise<void> {
  try {
    await stat(netns);
  } catch (err) {
    throw new CniError(CniErrorCode.InvalidNetns, `CNI_NETNS ${netns} cannot be opened: ${(err as Error).message}`, 'the pod network namespace must exist', {
      cause: err,
    });
  }
}

/** What an ADD has created so far, so that its rollback undoes exactly that. */
interface AddProgress {
  /** Addresses this ADD allocated (owner: the container id). */
  ips: string[];
  /** CreateEndpoint was sent: the endpoint may exist (a timeout does not say it does not). */
  endpointRequested: boolean;
  /** setupPodNetwork was started: the veth pair may exist (it deletes what it created on failure). */
  veth: boolean;
}

/**
 * Undoes a half-done ADD, best effort, touching only what this ADD created: the endpoint
 * only when the agent's endpoint of the container carries this ADD's address, the veth
 * pair only when this ADD created it, and each address it allocated by address (never
 * every address of the container). Returns what could not be undone.
 */
async function rollback(env: CniEnv, agentApi: CniAgent, done: AddProgress): Promise<string[]> {
  const failed: string[] = [];
  if (done.endpointRequested) {
    try {
      const ep = await agentApi.getEndpoint(env.containerId);
      if (ep && done.ips.includes(ep.ipv4)) await agentApi.deleteEndpoint(env.containerId);
    } catch (e) {
      failed.push(`delete endpoint: ${(e as Error).message}`);
    }
  }
  if (done.veth) await teardownPodNetwork(env.containerId).catch((e: Error) => failed.push(`delete veth: ${e.message}`));
  for (const ip of done.ips) await agentApi.release(env.containerId, ip).catch((e: Error) => failed.push(`release ${ip}: ${e.message}`));
  return failed;
}

/** ADD: allocate an address, wire the pod, register the endpoint; all or nothing. */
export async function cmdAdd(env: CniEnv, conf: NetConfig, deps: CommandDeps): Promise<CniResult> {
  await requireNetns(env.netns);
  const labels = podIdentityLabels(env.podNamespace, conf.podLabels);
  const agentApi = deps.connect(conf.agentSocket, conf.agentTimeout);
  const done: AddProgress = { ips: [], endpointRequested: false, veth: false };
  try {
    await agentApi.waitReady(conf.agentConnectTimeout);
    // A second ADD of an attached container fails here and changes nothing: its pod keeps
    // its endpoint, veth pair and addresses (the runtime must DEL before adding again).
    const existing = await agentApi.getEndpoint(env.containerId);
    if (existing) {
      throw new CniError(
        CniErrorCode.AlreadyAttached,
        `container ${env.containerId} is already attached: endpoint ${existing.id} (${existing.hostIfname}, ${[existing.ipv4, existing.ipv6].filter(Boolean).join(', ')}); nothing was changed`,
        'run DEL for the container before adding it again',
      );
    }
    // An Allocate that fails after the agent reserved an address (a timeout) leaves it to
    // the container: the runtime's DEL after the failed ADD, or GC, releases it by owner.
    const lease = await agentApi.allocate(env.containerId);
    done.ips.push(lease.ip);
    if (!IPV4_RE.test(lease.ip) || !IPV4_RE.test(lease.gateway)) {
      throw new CniError(
        CniErrorCode.AgentRequestFailed,
        `agent Ipam.Allocate returned address "${lease.ip}" and gateway "${lease.gateway}"; expected two IPv4 addresses`,
        'is the node pod CIDR assigned yet? see `cilium status`',
      );
    }
    // Dual-stack when the node has an IPv6 pod CIDR.
    const lease6 = await agentApi.allocateIpv6(env.containerId);
    if (lease6) done.ips.push(lease6.ip);
    if (lease6 && (!IPV6_RE.test(lease6.ip) || !IPV6_RE.test(lease6.gateway) || !lease6.ip.includes(':'))) {
      throw new CniError(
        CniErrorCode.AgentRequestFailed,
        `agent Ipam.Allocate (ipv6) returned address "${lease6.ip}" and gateway "${lease6.gateway}"; expected two IPv6 addresses`,
        'see `cilium status` for the node\'s IPv6 pod CIDR',
      );
    }
    deps.log.log('info', 'allocated address', { ip: lease.ip, gateway: lease.gateway, ipv6: lease6?.ip, gateway6: lease6?.gateway });
    done.veth = true;
    const net = await setupPodNetwork({
      containerId: env.containerId,
      netns: env.netns,
      ifname: env.ifname,
      ip: lease.ip,
      gateway: lease.gateway,
      ipv6: lease6?.ip,
      gateway6: lease6?.gateway,
      mtu: conf.mtu,
    }).catch((err: unknown) => {
      throw asCniError(err, CniErrorCode.InterfaceSetupFailed, `setting up ${env.ifname} in ${env.netns}`);
    });
    done.endpointRequested = true;
    const ep = await agentApi.createEndpoint({
      containerId: env.containerId,
      netns: env.netns,
      ifname: env.ifname,
      hostIfname: net.hostIfname,
      ipv4: lease.ip,
      ipv6: lease6?.ip ?? '',
      labels,
      podName: env.podName,
      namespace: env.podNamespace,
      mac: net.podMac,
      runtime: conf.runtime,
    });
    deps.log.log('info', 'endpoint created', { endpointId: ep.id, identity: ep.identity, hostIfname: net.hostIfname });
    return buildAddResult(conf.cniVersion, {
      hostIfname: net.hostIfname,
      hostMac: net.hostMac,
      podIfname: env.ifname,
      podMac: net.podMac,
      netns: env.netns,
      ip: lease.ip,
      gateway: lease.gateway,
      ipv6: lease6?.ip,
      gateway6: lease6?.gateway,
    });
  } catch (err) {
    const cniErr = asCniError(err, CniErrorCode.Internal, 'ADD failed');
    const leftovers = await rollback(env, agentApi, done);
    deps.log.log('error', 'ADD failed, rolled back', { error: cniErr.message, leftovers });
    if (leftovers.length === 0) throw cniErr;
    throw new CniError(cniErr.code, cniErr.message, `${cniErr.details}; rollback incomplete: ${leftovers.join('; ')}`.replace(/^; /, ''), {
      cause: cniErr,
    });
  } finally {
    agentApi.close();
  }
}

/**
 * DEL: delete the endpoint, the veth pair and the addresses of the container; missing
 * things are not errors. When the agent is unreachable the veth pair is still removed, the
 * deletion is recorded in the agent's deletion queue (beside its unix socket), which the
 * agent carries out when it starts, and DEL succeeds; an agent at a TCP address has no
 * queue: its endpoint and addresses are then collected by the next GC.
 */
export async function cmdDel(env: CniEnv, conf: NetConfig, deps: CommandDeps): Promise<void> {
  const agentApi = deps.connect(conf.agentSocket, conf.agentTimeout);
  try {
    let reachable = true;
    try {
      await agentApi.waitReady(conf.agentConnectTimeout);
    } catch (err) {
      reachable = false;
      const queue = deletionQueueDir(conf.agentSocket);
      deps.log.log('warn', queue ? 'agent unreachable during DEL; removing the veth and queueing the rest for the agent' : 'agent unreachable during DEL; removing the veth only, GC will release the rest', {
        error: (err as Error).message,
      });
      if (queue) {
        const file = await enqueueDeletion(queue, env.containerId, 'cilium-cni').catch((e: unknown) => {
          throw new CniError(CniErrorCode.TryAgainLater, `agent unreachable and recording the deletion in ${queue} failed: ${(e as Error).message}`, 'start cilium-agent or make the queue directory writable, then DEL again');
        });
        deps.log.log('info', file ? 'deletion queued' : 'no deletion queue: the agent never started there, nothing to delete', { file, dir: queue });
      }
    }
    if (reachable) {
      const found = await agentApi.deleteEndpoint(env.containerId);
      deps.log.log('info', 'endpoint deleted', { found });
    }
    const removed = await teardownPodNetwork(env.containerId).catch((err: unknown) => {
      throw asCniError(err, CniErrorCode.InterfaceSetupFailed, `deleting ${hostIfnameFor(env.containerId)}`);
    });
    deps.log.log('info', 'veth removed', { removed });
    if (reachable) {
      const released = await agentApi.release(env.containerId);
      deps.log.log('info', 'addresses released', { released });
    }
  } finally {
    agentApi.close();
  }
}

/** CHECK: the endpoint exists in the agent and the pod's interfaces, address and routes are in place. */
export async function cmdCheck(env: CniEnv, conf: NetConfig, deps: CommandDeps): Promise<void> {
  if (compareVersions(conf.cniVersion, '0.4.0') < 0) {
    throw new CniError(CniErrorCode.IncompatibleVersion, `CHECK is not defined for cniVersion ${conf.cniVersion}`, 'CHECK needs cniVersion 0.4.0 or later');
  }
  const ip = prevResultIp(conf.prevResult);
  const gateway = prevResultGateway(conf.prevResult);
  if (ip === undefined || gateway === undefined) {
    throw new CniError(CniErrorCode.InvalidNetworkConfig, 'network config: prevResult: must carry the IPv4 address and gateway of the ADD result for CHECK');
  }
  await requireNetns(env.netns);
  const agentApi = deps.connect(conf.agentSocket, conf.agentTimeout);
  try {
    await agentApi.waitReady(conf.agentConnectTimeout);
    const ep = await agentApi.getEndpoint(env.containerId);
    if (!ep) throw new CniError(CniErrorCode.CheckFailed, `the agent has no endpoint for container ${env.containerId}`);
    if (ep.ipv4 !== ip) {
      throw new CniError(CniErrorCode.CheckFailed, `endpoint ${ep.id} has address ${ep.ipv4}, the previous result says ${ip}`);
    }
    const v6 = prevResultIpv6(conf.prevResult);
    if (v6 && ep.ipv6 !== v6.ip) {
      throw new CniError(CniErrorCode.CheckFailed, `endpoint ${ep.id} has IPv6 address ${ep.ipv6 || '(none)'}, the previous result says ${v6.ip}`);
    }
    await checkPodNetwork({ containerId: env.containerId, netns: env.netns, ifname: env.ifname, ip, gateway, ipv6: v6?.ip, gateway6: v6?.gateway }).catch((err: unknown) => {
      if (err instanceof PodNetworkCheckError) throw new CniError(CniErrorCode.CheckFailed, `CHECK failed: ${err.message}`);
      throw asCniError(err, CniErrorCode.CheckFailed, 'CHECK failed');
    });
  } finally {
    agentApi.close();
  }
}

/** STATUS: succeeds when the agent answers and is not failing; error 50 otherwise. */
export async function cmdStatus(conf: NetConfig, deps: CommandDeps): Promise<void> {
  const agentApi = deps.connect(conf.agentSocket, conf.agentTimeout);
  try {
    let st;
    try {
      await agentApi.waitReady(conf.agentConnectTimeout);
      st = await agentApi.status();
    } catch (err) {
      throw new CniError(CniErrorCode.PluginNotAvailable, `plugin not available: ${(err as Error).message}`, '', { cause: err });
    }
    if (st.state === 'failure') {
      const failing = st.subsystems.filter((s) => s.state === 'failure').map((s) => `${s.name}: ${s.message}`);
      throw new CniError(CniErrorCode.PluginNotAvailable, `agent on node ${st.nodeName} is failing`, failing.join('; '));
    }
  } finally {
    agentApi.close();
  }
}

/** GC: delete the endpoints (and their veths and addresses) of containers not in `cni.dev/valid-attachments`. */
export async function cmdGc(conf: NetConfig, deps: CommandDeps): Promise<void> {
  const agentApi = deps.connect(conf.agentSocket, conf.agentTimeout);
  try {
    await agentApi.waitReady(conf.agentConnectTimeout);
    const valid = new Set(conf.validAttachments.map((a) => a.containerID));
    for (const ep of await agentApi.listEndpoints()) {
      if (ep.containerId === '' || valid.has(ep.containerId)) continue;
      deps.log.log('info', 'GC: removing stale endpoint', { endpointId: ep.id, containerId: ep.containerId });
      await agentApi.deleteEndpoint(ep.containerId);
      await teardownPodNetwork(ep.containerId);
      await agentApi.release(ep.containerId);
    }
  } finally {
    agentApi.close();
  }
}

/** Runs the command named in `env` (not VERSION); resolves with what goes on stdout, if anything. */
export async function runCommand(env: CniEnv, conf: NetConfig, deps: CommandDeps): Promise<CniResult | undefined> {
  switch (env.command) {
    case 'ADD':
      return cmdAdd(env, conf, deps);
    case 'DEL':
      await cmdDel(env, conf, deps);
      return undefined;
    case 'CHECK':
      await cmdCheck(env, conf, deps);
      return undefined;
    case 'STATUS':
      await cmdStatus(conf, deps);
      return undefined;
    case 'GC':
      await cmdGc(conf, deps);
      return undefined;
    case 'VERSION':
      throw new CniError(CniErrorCode.Internal, 'VERSION is answered before the config is read');
  }
}
