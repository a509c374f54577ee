/**
 * The agent's load-balancing gRPC services (cilium.agent.v1.LoadBalancer and BpfLb, lb.proto):
 * thin handlers over the ServiceManager and the datapath's LB maps.
 */
import { lb } from '@cilium-ts/api';
import type { LbMapsDump } from '@cilium-ts/bpf';
import { InvalidArgumentError, NotFoundError, type ServiceRegistration } from '@cilium-ts/grpc';
import { ServiceValidationError, type Service, type ServiceSpec } from '@cilium-ts/loadbalancer';
import { ServiceNotFoundError, type ServiceManager } from './service-manager.js';


/** What the LB services need of the agent. */
export interface LbApiDeps {
  services: ServiceManager;
  /** The datapath's LB maps; undefined while the datapath is not loaded. */
  lbMaps?(): LbMapsDump;
}

/** A service as the API returns it. */
export function serviceToApi(s: Service): lb.LbService {
  return lb.LbService.fromPartial({
    id: s.id,
    frontend: s.frontend,
    type: s.type,
    backends: s.backends.map((b) => ({ ip: b.ip, port: b.port, weight: b.weight, state: b.state, nodeName: b.nodeName ?? '' })),
    sessionAffinityTimeoutSeconds: s.sessionAffinityTimeoutSeconds ?? 0,
    trafficPolicy: s.trafficPolicy,
    name: s.name ?? '',
    namespace: s.namespace ?? '',
  });
}

/** An API service as a spec for validation (proto3 zero values are "not given"). */
export function serviceFromApi(s: lb.LbService | undefined): ServiceSpec {
  if (!s) throw new InvalidArgumentError('service is required', { field: 'service' });
  if (!s.frontend) throw new InvalidArgumentError('frontend: is required (IP, port, protocol)', { field: 'frontend' });
  const opt = (v: string) => (v === '' ? undefined : v);
  return {
    id: s.id,
    frontend: { ip: s.frontend.ip, port: s.frontend.port, protocol: opt(s.frontend.protocol) },
    type: opt(s.type),
    backends: s.backends.map((b) => ({ ip: b.ip, port: b.port, weight: b.weight === 0 ? undefined : b.weight, state: opt(b.state), nodeName: opt(b.nodeName) })),
    sessionAffinityTimeoutSeconds: s.sessionAffinityTimeoutSeconds || undefined,
    trafficPolicy: opt(s.trafficPolicy),
    name: opt(s.name),
    namespace: opt(s.namespace),
  };
}

async function guarded<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ServiceValidationError) throw new InvalidArgumentError(err.message, { field: err.field, cause: err });
    if (err instanceof ServiceNotFoundError) throw new NotFoundError(err.message, { cause: err });
    throw err;
  }
}

/** Builds the LoadBalancer and BpfLb service registrations. */
export function lbServices(deps: LbApiDeps): ServiceRegistration[] {
  const loadBalancer = {
    updateService: (call: { request: lb.UpdateServiceRequest }) =>
      guarded(async () => serviceToApi(await deps.services.update(serviceFromApi(call.request.service)))),
    getService: (call: { request: lb.GetServiceRequest }) =>
      guarded(async () => {
        const s = deps.services.get(call.request.id);
        if (!s) throw new ServiceNotFoundError(call.request.id);
        return serviceToApi(s);
      }),
    listServices: async () => lb.ListServicesResponse.fromPartial({ services: deps.services.list().map(serviceToApi) }),
    deleteService: (call: { request: lb.DeleteServiceRequest }) =>
      guarded(async () => {
        const { id, all } = call.request;
        if (all && id) throw new InvalidArgumentError('give either id or all, not both', { field: 'all' });
        if (all) return lb.DeleteServiceResponse.fromPartial({ deleted: await deps.services.deleteAll() });
        if (!id) throw new InvalidArgumentError('id: a service id (1-65535) or all is required', { field: 'id' });
        await deps.services.delete(id);
        return lb.DeleteServiceResponse.fromPartial({ deleted: 1 });
      }),
  };
  const bpfLb = {
    list: async () => lb.BpfLbListResponse.fromPartial(deps.lbMaps?.() ?? { services: [], backends: [], revNat: [] }),
  };
  return [
    { definition: lb.LoadBalancerService, implementation: loadBalancer },
    { definition: lb.BpfLbService, implementation: bpfLb },
  ];
}
