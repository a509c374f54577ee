// The CLI's connection to one agent: a client per agent service (created with
// @cilium-ts/grpc's createClient), unary calls as promises, and errors turned into
// messages a user can act on.
import { status, type ServiceError } from '@grpc/grpc-js';
import { agent } from '@cilium-ts/api';
import { createClient, dialTarget, type ClientConstructor } from '@cilium-ts/grpc';

/** The default agent address (the agent's unix socket). */
export const DEFAULT_AGENT_HOST = 'unix:///run/cilium-ts/agent.sock';

/** An agent call that failed; `message` is what the CLI prints. */
export class AgentCallError extends Error {
  override readonly name = 'AgentCallError';
  /** The gRPC method, e.g. "Policy.Import". */
  readonly method: string;
  /** The gRPC status code. */
  readonly code: number;
  /** The agent's error text, exactly as it sent it. */
  readonly details: string;

  constructor(method: string, target: string, err: ServiceError) {
    const details = err.details || err.message;
    const unreachable = err.code === status.UNAVAILABLE || err.code === status.DEADLINE_EXCEEDED;
    super(
      unreachable
        ? `cannot reach the agent at ${target} (${method}): ${details}; is cilium-agent running? Use --host or CILIUM_HOST to point elsewhere`
        : details,
      { cause: err },
    );
    this.method = method;
    this.code = err.code;
    this.details = details;
  }
}

function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as ServiceError).code === 'number';
}

/** Clients of every agent service for one agent address. */
export class AgentConnection {
  /** The grpc-js target (unix:///path or host:port). */
  readonly target: string;
  readonly daemon: agent.DaemonClient;
  readonly endpoints: agent.EndpointsClient;
  readonly ipam: agent.IpamClient;
  readonly policy: agent.PolicyClient;
  readonly identities: agent.IdentitiesClient;
  readonly monitor: agent.MonitorClient;
  private readonly timeoutMs: number;

  /** `host` is unix:///path, /path.sock or host:port. */
  constructor(host: string, timeoutMs = 30_000) {
    this.target = dialTarget(host);
    this.timeoutMs = timeoutMs;
    this.daemon = createClient(agent.DaemonClient, host);
    this.endpoints = createClient(agent.EndpointsClient, host);
    this.ipam = createClient(agent.IpamClient, host);
    this.policy = createClient(agent.PolicyClient, host);
    this.identities = createClient(agent.IdentitiesClient, host);
    this.monitor = createClient(agent.MonitorClient, host);
  }

  /** Runs `invoke` with the connection's deadline (ms); a gRPC failure becomes AgentCallError naming `label`. */
  async call<Res>(label: string, invoke: (deadline: number) => Promise<Res>): Promise<Res> {
    try {
      return await invoke(this.timeoutMs);
    } catch (err) {
      if (isServiceError(err)) throw new AgentCallError(label, this.target, err);
      throw err;
    }
  }

  /**
   * Calls a service without a client of its own here (e.g. maps.BpfMapsClient): a client
   * for this one call, closed after it; failures as in call().
   */
  async callService<C extends { close(): void }, Res>(Ctor: ClientConstructor<C>, label: string, invoke: (client: C, deadline: number) => Promise<Res>): Promise<Res> {
    const client = createClient(Ctor, this.target);
    try {
      return await this.call(label, (deadline) => invoke(client, deadline));
    } finally {
      client.close();
    }
  }

  /** Closes every client. */
  close(): void {
    for (const c of [this.endpoints, this.ipam, this.policy, this.identities, this.monitor, this.daemon]) c.close();
  }
}
