/**
 * The agent's EndpointOps service (cilium.agent.v1.EndpointOps, endpoint_ops.proto):
 * `cilium endpoint regenerate|labels|log|health ID`, thin handlers over the endpoint
 * manager, its status log and the health checks, mapping domain errors to gRPC statuses.
 */
import type { ServerUnaryCall } from '@grpc/grpc-js';
import { endpointOps } from '@cilium-ts/api';
import { InvalidArgumentError, NotFoundError, type ServiceRegistration } from '@cilium-ts/grpc';
import { endpointToApi } from './api-convert.js';
import { endpointHealth, type EndpointHealthDeps } from './endpoint-health.js';
import { EndpointNotFoundError, EndpointRequestError, type Endpoint, type EndpointManager } from './endpoint-manager.js';

/** What the EndpointOps service needs of the agent. */
export interface EndpointOpsDeps {
  endpoints: Pick<EndpointManager, 'get' | 'regenerate' | 'relabel' | 'statusLog'>;
  health: EndpointHealthDeps;
}

type Unary<Req> = ServerUnaryCall<Req, unknown>;

function requireId(id: number): number {
  if (!id) throw new InvalidArgumentError('id is required (the endpoint id of cilium endpoint list)', { field: 'id' });
  return id;
}

async function mapped<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof EndpointRequestError) throw new InvalidArgumentError(err.message, { field: err.field, cause: err });
    if (err instanceof EndpointNotFoundError) throw new NotFoundError(err.message, { resource: 'endpoint', cause: err });
    throw err;
  }
}

/** Builds the EndpointOps service registration. */
export function endpointOpsService(deps: EndpointOpsDeps): ServiceRegistration {
  const existing = (id: number): Endpoint => {
    const ep = deps.endpoints.get({ id: requireId(id) });
    if (!ep) throw new NotFoundError(`endpoint ${id} not found`, { resource: 'endpoint' });
    return ep;
  };
  const implementation = {
    async regenerateEndpoint(call: Unary<endpointOps.RegenerateEndpointRequest>) {
      const id = requireId(call.request.id);
      return endpointToApi(await mapped(() => deps.endpoints.regenerate(id)));
    },
    async patchEndpointLabels(call: Unary<endpointOps.PatchEndpointLabelsRequest>) {
      const id = requireId(call.request.id);
      return endpointToApi(await mapped(() => deps.endpoints.relabel(id, call.request.add, call.request.delete)));
    },
    async getEndpointLog(call: Unary<endpointOps.GetEndpointLogRequest>) {
      const ep = existing(call.request.id);
      const entries = deps.endpoints.statusLog.list(ep.id).map((e) => ({ timestamp: new Date(e.timeMs).toISOString(), code: e.code, state: e.state, message: e.message }));
      return endpointOps.EndpointLog.fromPartial({ id: ep.id, entries });
    },
    async getEndpointHealth(call: Unary<endpointOps.GetEndpointHealthRequest>) {
      const ep = existing(call.request.id);
      return endpointOps.EndpointHealth.fromPartial({ id: ep.id, ...(await endpointHealth(ep, deps.health)) });
    },
  };
  return { definition: endpointOps.EndpointOpsService, implementation };
}
