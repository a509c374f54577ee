// The plugin's view of the agent: the few Ipam, Endpoints and Daemon calls CNI needs,
// as promises with deadlines, over one gRPC channel (unix socket or host:port).
import { credentials, Metadata, status, type CallOptions, type ServiceError } from '@grpc/grpc-js';
import { agent } from '@cilium-ts/api';
import { CniError, CniErrorCode } from './cni-error.js';

/** The agent calls the CNI commands make. */
export interface CniAgent {
  /** Resolves when the agent is reachable; rejects with CniError code 11 when not. */
  waitReady(timeoutSeconds: number): Promise<void>;
  status(): Promise<agent.StatusResponse>;
  allocate(owner: string): Promise<agent.IpamAllocateResponse>;
  /** Releases every address owned by `owner`; resolves with how many were released. */
  release(owner: string): Promise<number>;
  createEndpoint(req: agent.CreateEndpointRequest): Promise<agent.Endpoint>;
  /** Deletes the endpoint of a container; resolves false when there was none. */
  deleteEndpoint(containerId: string): Promise<boolean>;
  /** The endpoint of a container, or undefined when the agent has none. */
  getEndpoint(containerId: string): Promise<agent.Endpoint | undefined>;
  listEndpoints(): Promise<agent.Endpoint[]>;
  close(): void;
}

type UnaryFn<Req, Res> = (
  req: Req,
  md: Metadata,
  opts: Partial<CallOptions>,
  cb: (err: ServiceError | null, res: Res) => void,
) => unknown;

function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as ServiceError).code === 'number';
}

/** Converts a failed agent call into a CniError: unreachable -> 11, refused -> 100. */
export function agentCallError(method: string, target: string, err: unknown): CniError {
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

/** Connects (lazily) to the agent at `target` (unix:///path or host:port); calls time out after `timeoutSeconds`. */
export function connectAgent(target: string, timeoutSeconds: number): CniAgent {
  const creds = credentials.createInsecure();
  const ipam = new agent.IpamClient(target, creds);
  const channelOverride = ipam.getChannel();
  const endpoints = new agent.EndpointsClient(target, creds, { channelOverride });
  const daemon = new agent.DaemonClient(target, creds, { channelOverride });

  function call<Req, Res>(method: string, fn: UnaryFn<Req, Res>, req: Req): Promise<Res> {
    const deadline = Date.now() + timeoutSeconds * 1000;
    return new Promise((resolve, reject) => {
      fn(req, new Metadata(), { deadline }, (err, res) => {
        if (err) reject(agentCallError(method, target, err));
        else resolve(res);
      });
    });
  }

  return {
    waitReady(connectTimeout) {
      return new Promise((resolve, reject) => {
        ipam.waitForReady(Date.now() + connectTimeout * 1000, (err) => {
          if (!err) return resolve();
          reject(
            new CniError(
              CniErrorCode.TryAgainLater,
              `agent at ${target} is unreachable: ${err.message}`,
              'start cilium-agent (or fix agent-socket in the network config) and retry',
              { cause: err },
            ),
          );
        });
      });
    },
    status: () => call('Daemon.Status', daemon.status.bind(daemon), {}),
    allocate: (owner) => call('Ipam.Allocate', ipam.allocate.bind(ipam), { owner, family: 'ipv4', ip: '' }),
    release: async (owner) => (await call('Ipam.Release', ipam.release.bind(ipam), { ip: '', owner })).released,
    createEndpoint: (req) => call('Endpoints.CreateEndpoint', endpoints.createEndpoint.bind(endpoints), req),
    deleteEndpoint: async (containerId) =>
      (await call('Endpoints.DeleteEndpoint', endpoints.deleteEndpoint.bind(endpoints), { id: 0, containerId })).found,
    async getEndpoint(containerId) {
      try {
        return await call('Endpoints.GetEndpoint', endpoints.getEndpoint.bind(endpoints), { id: 0, containerId });
      } catch (err) {
        const cause = (err as CniError).cause;
        if (isServiceError(cause) && cause.code === status.NOT_FOUND) return undefined;
        throw err;
      }
    },
    listEndpoints: async () =>
      (await call('Endpoints.ListEndpoints', endpoints.listEndpoints.bind(endpoints), {})).endpoints,
    close() {
      endpoints.close();
      daemon.close();
      ipam.close();
    },
  };
}
