/**
 * Endpoints.GetEndpointConfig / PatchEndpointConfig (`cilium endpoint config ID
 * [Option=value ...]`): an endpoint's options as the API shows them, and the handlers that
 * read and change them, mapping domain errors to gRPC statuses.
 */
import { agent } from '@cilium-ts/api';
import { InvalidArgumentError, NotFoundError } from '@cilium-ts/grpc';
import { EndpointNotFoundError, type Endpoint } from './endpoint-manager.js';
import { ENDPOINT_OPTIONS, EndpointOptionError, endpointOptionText } from './endpoint-options.js';

/** What the handlers need of the endpoint manager. */
export interface EndpointConfigPort {
  get(q: { id: number }): Endpoint | undefined;
  configure(id: number, changes: Readonly<Record<string, string>>): Promise<Endpoint>;
}

/** An endpoint's options as `{name: "Enabled" | "Disabled"}` (Endpoint.options). */
export function endpointOptionsToApi(ep: Pick<Endpoint, 'options'>): Record<string, string> {
  return Object.fromEntries(ENDPOINT_OPTIONS.map((o) => [o.name, endpointOptionText(ep.options[o.name])]));
}

/** An endpoint's options as EndpointConfig, ordered by name. */
export function endpointConfigToApi(ep: Pick<Endpoint, 'id' | 'options'>): agent.EndpointConfig {
  return agent.EndpointConfig.fromPartial({
    id: ep.id,
    options: ENDPOINT_OPTIONS.map((o) => ({ name: o.name, value: endpointOptionText(ep.options[o.name]), description: o.description })),
  });
}

function requireId(id: number): number {
  if (!id) throw new InvalidArgumentError('id is required (the endpoint id of cilium endpoint list)', { field: 'id' });
  return id;
}

/** The Endpoints service's GetEndpointConfig and PatchEndpointConfig handlers. */
export function endpointConfigHandlers(port: EndpointConfigPort) {
  return {
    async getEndpointConfig(call: { request: agent.GetEndpointConfigRequest }): Promise<agent.EndpointConfig> {
      const id = requireId(call.request.id);
      const ep = port.get({ id });
      if (!ep) throw new NotFoundError(`endpoint ${id} not found`, { resource: 'endpoint' });
      return endpointConfigToApi(ep);
    },
    async patchEndpointConfig(call: { request: agent.PatchEndpointConfigRequest }): Promise<agent.EndpointConfig> {
      const id = requireId(call.request.id);
      if (Object.keys(call.request.options).length === 0) {
        throw new InvalidArgumentError('options: nothing to change; give at least one Option=value (e.g. Debug=true)', { field: 'options' });
      }
      try {
        return endpointConfigToApi(await port.configure(id, call.request.options));
      } catch (err) {
        if (err instanceof EndpointOptionError) throw new InvalidArgumentError(err.message, { field: `options.${err.option}`, cause: err });
        if (err instanceof EndpointNotFoundError) throw new NotFoundError(err.message, { resource: 'endpoint', cause: err });
        throw err;
      }
    },
  };
}
