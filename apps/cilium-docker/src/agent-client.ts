// The plugin's view of the node's agent: the Ipam and Endpoints calls a Docker endpoint
// needs, as promises with deadlines, each failure an Error naming the call and the target.
import { connectivityState, status, type Client, type ServiceError } from '@grpc/grpc-js';
import { agent } from '@cilium-ts/api';
import { createClient, unary, waitForReady } from '@cilium-ts/grpc';

/** An agent call that failed; `unavailable` when the agent could not be reached. */
export class AgentCallError extends Error {
  override readonly name = 'AgentCallError';
  readonly code: number | undefined;
  constructor(method: string, target: string, err: unknown) {
    const se = err as Partial<ServiceError>;
    const reachable = se.code !== status.UNAVAILABLE && se.code !== status.DEADLINE_EXCEEDED;
    super(`agent ${method} at ${target}${reachable ? '' : ' (unreachable: is cilium-agent running?)'}: ${se.details || (err as Error).message}`, { cause: err });
    this.code = se.code;
  }
}

/** The agent calls cilium-docker makes. */
export interface DockerAgent {
  allocate(owner: string, ip?: string): Promise<agent.IpamAllocateResponse>;
  /** Releases `ip` of `owner`, or every address of `owner` when ip is ''; resolves with how many. */
  release(owner: string, ip?: string): Promise<number>;
  createEndpoint(req: agent.CreateEndpointRequest): Promise<agent.Endpoint>;
  deleteEndpoint(containerId: string): Promise<boolean>;
  listEndpoints(): Promise<agent.Endpoint[]>;
  /**
   * Calls onConnected each time the channel to the agent becomes connected (the first
   * connection and every reconnection after an agent restart); the channel keeps trying
   * to connect while the agent is down. Stops with close().
   */
  watchConnected(onConnected: () => void): void;
  close(): void;
}

/**
 * The plugin outlives agent restarts: its channels retry a lost agent at most a second apart,
 * and a call made while a channel is not connected first waits this long for it (a restarted
 * agent is taken at once; a dead one fails the call quickly and clearly, never after the
 * whole call timeout).
 */
const RECONNECT_WAIT_MS = 2000;
/** How long one connectivity watch lasts before it is renewed (a watch needs a deadline). */
const WATCH_SLICE_MS = 60_000;
const channelOptions = { 'grpc.initial_reconnect_backoff_ms': 200, 'grpc.max_reconnect_backoff_ms': 1000 };

/** Waits up to RECONNECT_WAIT_MS for client's channel when it is not connected; the call that follows reports a failure. */
async function connected(client: Client): Promise<void> {
  if (client.getChannel().getConnectivityState(false) === connectivityState.READY) return;
  await waitForReady(client, RECONNECT_WAIT_MS).catch(() => undefined);
}

/** A lazily connecting client of the agent at target (unix:///path or host:port); calls time out after timeoutMs. */
export function connectAgent(target: string, timeoutMs: number): DockerAgent {
  const ipam = createClient(agent.IpamClient, target, { channelOptions });
  const endpoints = createClient(agent.EndpointsClient, target, { channelOptions });
  const opts = (): { deadline: Date } => ({ deadline: new Date(Date.now() + timeoutMs) });
  async function call<T>(method: string, client: Client, f: () => Promise<T>): Promise<T> {
    try {
      await connected(client);
      return await f();
    } catch (err) {
      throw new AgentCallError(method, target, err);
    }
  }
  let watching = true;
  return {
    allocate: (owner, ip = '') => call('Ipam.Allocate', ipam, () => unary(ipam, 'allocate', { owner, family: 'ipv4', ip }, opts())),
    release: async (owner, ip = '') => (await call('Ipam.Release', ipam, () => unary(ipam, 'release', { owner, ip }, opts()))).released,
    createEndpoint: (req) => call('Endpoints.CreateEndpoint', endpoints, () => unary(endpoints, 'createEndpoint', req, opts())),
    deleteEndpoint: async (containerId) => (await call('Endpoints.DeleteEndpoint', endpoints, () => unary(endpoints, 'deleteEndpoint', { id: 0, containerId }, opts()))).found,
    listEndpoints: async () => (await call('Endpoints.ListEndpoints', endpoints, () => unary(endpoints, 'listEndpoints', {}, opts()))).endpoints,
    watchConnected(onConnected) {
      const channel = endpoints.getChannel();
      const watch = (last: connectivityState): void => {
        if (!watching) return;
        // true: an idle channel (never used, or dropped by a stopped agent) starts connecting.
        const now = channel.getConnectivityState(true);
        if (now === connectivityState.READY && last !== connectivityState.READY) onConnected();
        if (now === connectivityState.SHUTDOWN) return;
        channel.watchConnectivityState(now, Date.now() + WATCH_SLICE_MS, () => watch(now));
      };
      watch(connectivityState.IDLE);
    },
    close() {
      watching = false;
      ipam.close();
      endpoints.close();
    },
  };
}
