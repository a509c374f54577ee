/**
 * The agent's gRPC services (cilium.agent.v1): thin handlers that validate requests,
 * call the core, and map domain errors to gRPC statuses.
 */
import type { ServerUnaryCall, ServerWritableStream } from '@grpc/grpc-js';
import { agent, timestampFromNanos } from '@cilium-ts/api';
import { EventType } from '@cilium-ts/bpf';
import { LabelParseError, PolicyDocumentTooLargeError, checkDocumentSize } from '@cilium-ts/policy';
import { DeadlineExceededError, FailedPreconditionError, InvalidArgumentError, NotFoundError, ResourceExhaustedError, UnavailableError, type ServiceRegistration } from '@cilium-ts/grpc';
import type { AgentStatus } from './agent-status.js';
import { bpfService } from './api-bpf.js';
import { endpointConfigHandlers } from './api-endpoint-config.js';
import { nodesService, type NodesServiceDeps } from './api-nodes.js';
import { endpointToApi, identityToApi } from './api-convert.js';
import { EndpointNotFoundError, EndpointRequestError, validateCreate, type Endpoint, type EndpointManager } from './endpoint-manager.js';
import type { IdentityCache } from './identity-cache.js';
import { IpamError, type Ipv4Allocator } from './ipam.js';
import type { Ipv6Allocator } from './ipam-v6.js';
import type { MetadataHub } from './metadata-hub.js';
import type { DeliveredEvent, MonitorHub } from './monitor-hub.js';
import { PolicyValidationError, type PolicyStore } from './policy-store.js';
import { ClusterPolicyUnavailableError, ClusterPolicyUnusableError, PolicyWaitTimeoutError, type ClusterPolicy } from './cluster-policy.js';

/** What the services need of the running agent. */
export interface AgentCore {
  nodeName: string;
  clusterName: string;
  version: string;
  startedAtNs: bigint;
  bpfPinDir: string;
  endpoints: EndpointManager;
  policy: PolicyStore;
  identities: IdentityCache;
  monitor: MonitorHub;
  metadata: MetadataHub;
  /** IPAM, once the node has a pod CIDR. */
  ipam(): Ipv4Allocator | undefined;
  /** IPv6 IPAM, when the node runs dual-stack and has its IPv6 pod CIDR. */
  ipam6(): Ipv6Allocator | undefined;
  /** Cluster-wide (kvstore) and node-local policy rules, their revision and persistence. */
  clusterPolicy: ClusterPolicy;
  /** Saves IPAM allocations after a change. */
  saveIpam(): Promise<void>;
  status(): AgentStatus;
  /** The configuration the agent runs with, name -> value (cilium config). */
  config(): Record<string, string>;
  /** References of local endpoints per identity. */
  identityReferences(): Map<number, number>;
  /** This node and the other nodes of the cluster (cilium node list). */
  nodes: NodesServiceDeps;
}

type Unary<Req> = ServerUnaryCall<Req, unknown>;

/** Maps a domain error of the agent to the gRPC status error its caller gets (others pass through). */
export function mapDomainError(err: unknown): unknown {
  if (err instanceof EndpointRequestError) return new InvalidArgumentError(err.message, { field: err.field, cause: err });
  if (err instanceof EndpointNotFoundError) return new NotFoundError(err.message, { cause: err });
  if (err instanceof PolicyValidationError) return new InvalidArgumentError(err.message, { cause: err });
  if (err instanceof PolicyDocumentTooLargeError) return new InvalidArgumentError(`document: ${err.message}`, { field: 'document', cause: err });
  if (err instanceof LabelParseError) return new InvalidArgumentError(`labels: ${err.message}`, { field: 'labels', cause: err });
  if (err instanceof ClusterPolicyUnavailableError) return new UnavailableError(err.message, { cause: err });
  if (err instanceof ClusterPolicyUnusableError) return new FailedPreconditionError(err.message, { cause: err });
  if (err instanceof PolicyWaitTimeoutError) return new DeadlineExceededError(err.message, { cause: err });
  if (err instanceof IpamError) {
    return err.code === 'exhausted' ? new ResourceExhaustedError(err.message, { cause: err }) : new InvalidArgumentError(err.message, { cause: err });
  }
  return err;
}

async function guarded<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw mapDomainError(err);
  }
}

function requireIpam(core: AgentCore): Ipv4Allocator {
  const ipam = core.ipam();
  if (!ipam) throw new UnavailableError('this node has no pod CIDR yet (waiting for the operator to assign one, or start the agent with --pod-cidr)');
  return ipam;
}

/** The pool of a family; FAILED_PRECONDITION for IPv6 on an IPv4-only node (CNI then sets up IPv4 only). */
function requireIpamOf(core: AgentCore, family: string): Ipv4Allocator | Ipv6Allocator {
  if (family !== 'ipv6') return requireIpam(core);
  const ipam6 = core.ipam6();
  if (!ipam6) throw new FailedPreconditionError(`node ${core.nodeName} runs IPv4 only: it has no IPv6 pod CIDR (start the agent with --pod-cidr-v6 or --enable-ipv6)`);
  return ipam6;
}

/** The datapath event types a monitor subscriber may ask for. */
const DATAPATH_EVENT_TYPES = new Set<number>(Object.values(EventType));
const DATAPATH_EVENT_TYPE_NAMES = Object.entries(EventType).map(([name, n]) => `${n} ${name}`).join(', ');

/**
 * The endpoint a Get/DeleteEndpoint request names: by id, by container id, or by both,
 * which must then agree (INVALID_ARGUMENT when they name different endpoints).
 */
function findEndpoint(core: AgentCore, id: number, containerId: string): Endpoint | undefined {
  if (!id && !containerId) throw new InvalidArgumentError('id or container_id is required', { field: 'id' });
  const ep = core.endpoints.get({ id: id || undefined, containerId: containerId || undefined });
  if (ep && id && containerId && ep.containerId !== containerId) {
    throw new InvalidArgumentError(`endpoint ${id} belongs to container "${ep.containerId}", not "${containerId}"`, { field: 'container_id' });
  }
  return ep;
}

/** Builds every service registration of the agent API. */
export function agentServices(core: AgentCore): ServiceRegistration[] {
  const daemon = {
    async status(_call: Unary<agent.StatusRequest>) {
      const s = core.status();
      return agent.StatusResponse.fromPartial({
        nodeName: core.nodeName,
        clusterName: core.clusterName,
        version: core.version,
        state: s.state,
        subsystems: s.subsystems,
        endpointCount: core.endpoints.list().length,
        policyRevision: BigInt(core.clusterPolicy.revision),
        policyClusterRevision: BigInt(s.policy.latest),
        policyLagging: s.policy.lagging,
        podCidr: core.ipam()?.cidr.text ?? '',
        podCidrV6: core.ipam6()?.cidr.text ?? '',
        startedAt: timestampFromNanos(core.startedAtNs),
        kernelFeatures: s.kernelFeatures,
        bpfPinPath: core.bpfPinDir,
      });
    },
    async getConfig(_call: Unary<agent.GetConfigRequest>) {
      return agent.GetConfigResponse.fromPartial({ options: core.config() });
    },
  };

  const endpoints = {
    async createEndpoint(call: Unary<agent.CreateEndpointRequest>) {
      const r = call.request;
      const input = {
        containerId: r.containerId,
        netns: r.netns,
        ifname: r.ifname,
        hostIfname: r.hostIfname,
        ipv4: r.ipv4,
        ipv6: r.ipv6,
        labels: r.labels,
        podName: r.podName,
        namespace: r.namespace,
        mac: r.mac,
        runtime: r.runtime,
      };
      return guarded(async () => {
        // Validate before reserving anything: a refused request owns no address afterwards.
        validateCreate(input);
        const pools: Array<[Ipv4Allocator | Ipv6Allocator, string]> = [[requireIpam(core), r.ipv4]];
        if (r.ipv6) pools.push([requireIpamOf(core, 'ipv6'), r.ipv6]);
        // The addresses must come from this node's IPAM; reserve them for the container if they were not.
        const reserved: Array<[Ipv4Allocator | Ipv6Allocator, string]> = [];
        try {
          for (const [pool, ip] of pools) {
            if (pool.ownerOf(ip) === r.containerId) continue;
            reserved.push([pool, pool.allocate(r.containerId, ip)]);
          }
          const ep = await core.endpoints.create(input);
          await core.saveIpam();
          return endpointToApi(ep);
        } catch (err) {
          // Undo only what this call reserved; addresses the container held before stay its own.
          for (const [pool, ip] of reserved) pool.release(ip);
          throw err;
        }
      });
    },
    async deleteEndpoint(call: Unary<agent.DeleteEndpointRequest>) {
      const { id, containerId } = call.request;
      const ep = findEndpoint(core, id, containerId);
      if (!ep) return agent.DeleteEndpointResponse.fromPartial({ found: false });
      const found = await guarded(() => core.endpoints.delete({ id: ep.id }));
      return agent.DeleteEndpointResponse.fromPartial({ found });
    },
    async getEndpoint(call: Unary<agent.GetEndpointRequest>) {
      const { id, containerId } = call.request;
      const ep = findEndpoint(core, id, containerId);
      if (!ep) throw new NotFoundError(`endpoint ${id || containerId} not found`, { resource: 'endpoint' });
      return endpointToApi(ep);
    },
    async listEndpoints(_call: Unary<agent.ListEndpointsRequest>) {
      return agent.ListEndpointsResponse.fromPartial({ endpoints: core.endpoints.list().map(endpointToApi) });
    },
    ...endpointConfigHandlers(core.endpoints),
  };

  const ipam = {
    async allocate(call: Unary<agent.IpamAllocateRequest>) {
      const r = call.request;
      if (r.family && r.family !== 'ipv4' && r.family !== 'ipv6') throw new InvalidArgumentError(`family "${r.family}" is not one of ipv4, ipv6`, { field: 'family' });
      if (!r.owner) throw new InvalidArgumentError('owner is required (e.g. the container id)', { field: 'owner' });
      return guarded(async () => {
        const a = requireIpamOf(core, r.family);
        const ip = a.allocate(r.owner, r.ip || undefined);
        await core.saveIpam();
        return agent.IpamAllocateResponse.fromPartial({ ip, prefixLength: a.cidr.prefixLength, gateway: a.router, podCidr: a.cidr.text });
      });
    },
    async release(call: Unary<agent.IpamReleaseRequest>) {
      const r = call.request;
      if (!r.owner) throw new InvalidArgumentError('owner is required (the owner the addresses were allocated to, e.g. the container id)', { field: 'owner' });
      return guarded(async () => {
        const pools = [core.ipam(), core.ipam6()].filter((a): a is Ipv4Allocator | Ipv6Allocator => a !== undefined);
        let released = 0;
        if (r.ip) {
          // One address, and only when it is the caller's: never an address another owner holds.
          const pool = pools.find((a) => a.cidr.text.includes(':') === r.ip.includes(':'));
          const owner = pool?.ownerOf(r.ip);
          if (owner !== undefined && owner !== r.owner) {
            throw new InvalidArgumentError(`${r.ip} is allocated to owner "${owner}", not to "${r.owner}"; nothing was released`, { field: 'owner' });
          }
          if (owner !== undefined) released += pool!.release(r.ip) ? 1 : 0;
        } else {
          for (const a of pools) released += a.releaseOwner(r.owner);
        }
        if (released > 0) await core.saveIpam();
        return agent.IpamReleaseResponse.fromPartial({ released });
      });
    },
    async list(_call: Unary<agent.IpamListRequest>) {
      const a = core.ipam();
      const a6 = core.ipam6();
      return agent.IpamListResponse.fromPartial({
        podCidr: a?.cidr.text ?? '',
        allocations: [...(a?.list() ?? []), ...(a6?.list() ?? [])],
        available: a?.available ?? 0,
        podCidrV6: a6?.cidr.text ?? '',
        availableV6: Math.min(a6?.available ?? 0, 0xffffffff),
      });
    },
  };

  const policy = {
    async import(call: Unary<agent.PolicyImportRequest>) {
      const r = call.request;
      if (!r.document.trim()) throw new InvalidArgumentError('document is empty', { field: 'document' });
      const res = await guarded(() => {
        checkDocumentSize(r.document);
        return core.clusterPolicy.import(r.document, r.source, r.replaceWithLabels, r.local);
      });
      return agent.PolicyImportResponse.fromPartial({ revision: BigInt(res.revision), ruleCount: res.ruleCount });
    },
    async get(call: Unary<agent.PolicyGetRequest>) {
      const res = await guarded(() => core.policy.get(call.request.labels));
      return agent.PolicyGetResponse.fromPartial({ policyJson: res.json, revision: BigInt(core.clusterPolicy.revision), ruleCount: res.count });
    },
    async delete(call: Unary<agent.PolicyDeleteRequest>) {
      const r = call.request;
      if (!r.all && r.labels.length === 0) throw new InvalidArgumentError('give labels of the rules to delete, or all', { field: 'labels' });
      if (r.all && r.labels.length > 0) throw new InvalidArgumentError('give labels of the rules to delete, or all, not both', { field: 'labels' });
      const res = await guarded(() => core.clusterPolicy.delete(r.labels, r.all, r.local));
      return agent.PolicyDeleteResponse.fromPartial({ revision: BigInt(res.revision), deleted: res.deleted });
    },
    async validate(call: Unary<agent.PolicyValidateRequest>) {
      const r = call.request;
      const res = await guarded(() => {
        checkDocumentSize(r.document);
        return core.policy.validate(r.document, r.source);
      });
      return agent.PolicyValidateResponse.fromPartial(res);
    },
    async wait(call: Unary<agent.PolicyWaitRequest>) {
      const r = call.request;
      if (r.revision > BigInt(Number.MAX_SAFE_INTEGER)) throw new InvalidArgumentError(`revision ${r.revision} is out of range`, { field: 'revision' });
      const revision = await guarded(() => core.clusterPolicy.waitFor(Number(r.revision), r.timeoutMs || 30_000));
      return agent.PolicyWaitResponse.fromPartial({ revision: BigInt(revision) });
    },
  };

  const identities = {
    async listIdentities(_call: Unary<agent.ListIdentitiesRequest>) {
      const refs = core.identityReferences();
      return agent.ListIdentitiesResponse.fromPartial({
        identities: core.identities.all().map(([id, labels]) => identityToApi(id, labels, refs.get(id) ?? 0)),
      });
    },
    async getIdentity(call: Unary<agent.GetIdentityRequest>) {
      const id = call.request.id;
      if (!id) throw new InvalidArgumentError('id is required', { field: 'id' });
      const labels = core.identities.get(id);
      if (!labels) throw new NotFoundError(`identity ${id} not found`, { resource: 'identity' });
      return identityToApi(id, labels, core.identityReferences().get(id) ?? 0);
    },
  };

  const monitor = {
    listen(call: ServerWritableStream<agent.MonitorRequest, agent.MonitorEvent>) {
      call.request.types.forEach((t, i) => {
        if (!DATAPATH_EVENT_TYPES.has(t)) {
          throw new InvalidArgumentError(`types[${i}]: ${t} is not a datapath event type (${DATAPATH_EVENT_TYPE_NAMES})`, { field: 'types' });
        }
      });
      const toMsg = (ev: DeliveredEvent): agent.MonitorEvent =>
        ev.kind === 'batch'
          ? // Built directly: fromPartial would copy every record of the batch.
            {
              time: timestampFromNanos(ev.timesNs[0] ?? 0n),
              nodeName: core.nodeName,
              datapath: undefined,
              agent: undefined,
              lost: undefined,
              batch: { records: ev.records, timeNs: ev.timesNs },
            }
          : agent.MonitorEvent.fromPartial({
              time: timestampFromNanos(ev.timeNs),
              nodeName: core.nodeName,
              ...(ev.kind === 'datapath' ? { datapath: ev.record } : ev.kind === 'agent' ? { agent: { type: ev.type, json: ev.json } } : { lost: BigInt(ev.count) }),
            });
      const sub = core.monitor.subscribe(
        { types: call.request.types, agentEvents: call.request.agentEvents, batch: call.request.batch },
        { write: (ev) => !call.writableEnded && call.write(toMsg(ev)) },
      );
      call.on('drain', () => sub.resume());
      const stop = () => core.monitor.unsubscribe(sub);
      call.on('cancelled', stop);
      call.on('close', stop);
      call.on('finish', stop);
    },
  };

  const metadata = {
    watch(call: ServerWritableStream<agent.MetadataWatchRequest, agent.MetadataEvent>) {
      const w = core.metadata.watch(
        (ev) => !call.writableEnded && call.write(ev),
        () => call.destroy(new UnavailableError('metadata watcher fell too far behind; re-watch')),
      );
      call.on('drain', () => w.resume());
      call.on('cancelled', () => w.close());
      call.on('close', () => w.close());
    },
  };

  return [
    { definition: agent.DaemonService, implementation: daemon },
    { definition: agent.EndpointsService, implementation: endpoints },
    { definition: agent.IpamService, implementation: ipam },
    { definition: agent.PolicyService, implementation: policy },
    { definition: agent.IdentitiesService, implementation: identities },
    { definition: agent.MonitorService, implementation: monitor },
    { definition: agent.MetadataService, implementation: metadata },
    bpfService(core),
    nodesService(core.nodes),
  ];
}
