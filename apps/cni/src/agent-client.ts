// The plugin's view of the agent: the few Ipam, Endpoints and Daemon calls CNI needs,
// as promises with deadlines (clients from @cilium-ts/grpc: unix socket or host:port).
import { status, type ServiceError } from '@grpc/grpc-js';
import { agent } from '@cilium-ts/api';
import { createClient, unary, waitForReady } from '@cilium-ts/grpc';
import { CniError, CniErrorCode } from './cni-error.js';

/** The agent calls the CNI commands make. */
export interface CniAgent {
  /** Resolves when the agent is reachable; rejects with CniError code 11 when not. */
  waitReady(timeoutSeconds: number): Promise<void>;
  status(): Promise<agent.StatusResponse>;
  allocate(owner: string): Promise<agent.IpamAllocateResponse>;
  /** Allocates an IPv6 address; resolves undefined when the node runs IPv4 only (no IPv6 pod CIDR). */
  allocateIpv6(owner: string): Promise<agent.IpamAllocateResponse | undefined>;
  /**
   * Releases every address owned by `owner`, or only `ip` when given (the agent refuses
   * when `ip` belongs to another owner); resolves with how many were released.
   */
  release(owner: string, ip?: string): Promise<number>;
  createEndpoint(req: agent.CreateEndpointRequest): Promise<agent.Endpoint>;
  /** Deletes the endpoint of a container; resolves false when there was none. */
  deleteEndpoint(containerId: string): Promise<boolean>;
  /** The endpoint of a container, or undefined when the agent has none. */
  getEndpoint(containerId: string): Promise<agent.Endpoint | undefined>;
  listEndpoints(): Promise<agent.Endpoint[]>;
  close(): void;
}

function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as ServiceError).code === 'number';
}

/** Converts a failed agent call into a CniError: unreachable -> 11, no address left -> 104, refused -> 100. */
export function agentCallError(method: string, target: string, err: unknown): CniError {
  if (isServiceError(err) && err.code === status.RESOURCE_EXHAUSTED) {
    return new CniError(
      CniErrorCode.AddressesExhausted,
      `agent ${method} at ${target}: ${err.details || err.message}`,
      'the node has no pod address left; delete unused pods or give the node a larger pod CIDR',
      { cause: err },
    );
  }
  if (isServiceError(err) && (err.code === status.UNAVAILABLE || err.code === status.DEADLINE_EXCEEDED)) {
    return new CniError(
      CniErrorCode.TryAgainLater,
      `agent ${method} at ${target}: ${err.details || err.message}`,
      'the agent is unreachable or too slow; is cilium-agent running and is agent-socket right?',
      { cause: err },
    );
  }
  const detail = isServiceError(err) ? err.details || err.message : err instanceof Error ? err.message : String(err);
  return new CniError(CniErrorCode.AgentRequestFailed, `agent ${method} failed: ${detail}`, `agent at ${target}`, { cause: err });
}

/** Connects (lazily) to the agent at `target` (unix:///path, /path or host:port); calls time out after `timeoutSeconds`. */
export function connectAgent(target: string, timeoutSeconds: number): CniAgent {
  const ipam = createClient(agent.IpamClient, target);
  const endpoints = createClient(agent.EndpointsClient, target);
  const daemon = createClient(agent.DaemonClient, target);
  const deadline = timeoutSeconds * 1000;

  async function call<Res>(method: string, invoke: () => Promise<Res>): Promise<Res> {
    try {
      return await invoke();
    } catch (err) {
      throw agentCallError(method, target, err);
    }
  }

  return {
    async waitReady(connectTimeout) {
      try {
        await waitForReady(ipam, connectTimeout * 1000);
      } catch (err) {
        throw new CniError(
          CniErrorCode.TryAgainLater,
          `agent at ${target} is unreachable: ${(err as Error).message}`,
          'start cilium-agent (or fix agent-socket in the network config) and retry',
          { cause: err },
        );
      }
    },
    status: () => call('Daemon.Status', () => unary(daemon, 'status', {}, { deadline })),
    allocate: (owner) => call('Ipam.Allocate', () => unary(ipam, 'allocate', { owner, family: 'ipv4', ip: '' }, { deadline })),
    async allocateIpv6(owner) {
      try {
        return await call('Ipam.Allocate', () => unary(ipam, 'allocate', { owner, family: 'ipv6', ip: '' }, { deadline }));
      } catch (err) {
        const cause = (err as CniError).cause;
        if (isServiceError(cause) && cause.code === status.FAILED_PRECONDITION) return undefined;
        throw err;
      }
    },
    release: async (owner, ip = '') => (await call('Ipam.Release', () => unary(ipam, 'release', { ip, owner }, { deadline }))).released,
    createEndpoint: (req) => call('Endpoints.CreateEndpoint', () => unary(endpoints, 'createEndpoint', req, { deadline })),
    deleteEndpoint: async (containerId) =>
      (await call('Endpoints.DeleteEndpoint', () => unary(endpoints, 'deleteEndpoint', { id: 0, containerId }, { deadline }))).found,
    async getEndpoint(containerId) {
      try {
        return await call('Endpoints.GetEndpoint', () => unary(endpoints, 'getEndpoint', { id: 0, containerId }, { deadline }));
      } catch (err) {
        const cause = (err as CniError).cause;
        if (isServiceError(cause) && cause.code === status.NOT_FOUND) return undefined;
        throw err;
      }
    },
    listEndpoints: async () => (await call('Endpoints.ListEndpoints', () => unary(endpoints, 'listEndpoints', {}, { deadline }))).endpoints,
    close() {
      endpoints.close();
      daemon.close();
      ipam.close();
    },
  };
}
