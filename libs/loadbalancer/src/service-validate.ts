// Validation of service definitions from callers (API, CLI, kvstore): every field is
// checked and normalized, and a refusal names the field and the reason.
import { formatIPAddr, parseIPAddr, parsePrefix, prefixContains, type Prefix } from '@cilium-ts/netaddr';
import { ServiceValidationError } from './service-error.js';
import {
  BackendStates,
  DefaultBackendWeight,
  L4Protocols,
  MaxBackendWeight,
  MaxServiceId,
  ServiceTypes,
  TrafficPolicies,
  formatL3n4,
  sameFrontend,
  type Backend,
  type BackendState,
  type L4Protocol,
  type Service,
  type ServiceType,
  type TrafficPolicy,
} from './service.js';

/** A service as a caller gives it: loosely typed, optional fields defaulted. */
export interface ServiceSpec {
  id: unknown;
  frontend: { ip: unknown; port: unknown; protocol?: unknown };
  type?: unknown;
  backends?: Array<{ ip: unknown; port: unknown; weight?: unknown; state?: unknown; nodeName?: unknown }>;
  sessionAffinityTimeoutSeconds?: unknown;
  trafficPolicy?: unknown;
  name?: unknown;
  namespace?: unknown;
}

/** What the validation checks against. */
export interface ServiceLimits {
  /** Pod CIDRs of the cluster: no frontend may lie inside one. */
  podCidrs: string[];
  /** Backend slots of one service in the datapath. */
  maxBackends: number;
}

/** Longest session affinity timeout (Kubernetes' limit: one day). */
export const MaxAffinityTimeoutSeconds = 86400;

/** Parses an IP address into canonical text; throws naming the field. */
export function canonicalIp(raw: unknown, field: string): { text: string; family: 4 | 6 } {
  const ip = typeof raw === 'string' ? parseIPAddr(raw.trim()) : undefined;
  if (!ip) throw new ServiceValidationError(field, `${JSON.stringify(raw)} is not an IPv4 or IPv6 address`);
  return { text: formatIPAddr(ip), family: ip.family };
}

function port(raw: unknown, field: string): number {
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 1 || raw > 65535) {
    throw new ServiceValidationError(field, `${JSON.stringify(raw)} is not a port (1-65535)`);
  }
  return raw;
}

function oneOf<T extends string>(raw: unknown, allowed: readonly T[], field: string, dflt: T, fold = false): T {
  if (raw === undefined || raw === '') return dflt;
  const s = typeof raw === 'string' ? raw : '';
  const hit = allowed.find((a) => (fold ? a.toLowerCase() === s.toLowerCase() : a === s));
  if (!hit) throw new ServiceValidationError(field, `${JSON.stringify(raw)} is not one of ${allowed.join(', ')}`);
  return hit;
}

function optionalText(raw: unknown, field: string): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (typeof raw !== 'string' || !/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(raw)) {
    throw new ServiceValidationError(field, `${JSON.stringify(raw)} is not a DNS-1123 name`);
  }
  return raw;
}

function backend(raw: NonNullable<ServiceSpec['backends']>[number], i: number, family: 4 | 6): Backend {
  const f = `backends[${i}]`;
  if (typeof raw !== 'object' || raw === null) throw new ServiceValidationError(f, 'must be an object with ip and port');
  const ip = canonicalIp(raw.ip, `${f}.ip`);
  if (ip.family !== family) throw new ServiceValidationError(`${f}.ip`, `${ip.text} is IPv${ip.family} but the frontend is IPv${family}`);
  const weight = raw.weight === undefined ? DefaultBackendWeight : raw.weight;
  if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 0 || weight > MaxBackendWeight) {
    throw new ServiceValidationError(`${f}.weight`, `${JSON.stringify(weight)} is not a weight (0-${MaxBackendWeight})`);
  }
  const state: BackendState = oneOf(raw.state, BackendStates, `${f}.state`, 'active', true);
  const b: Backend = { ip: ip.text, port: port(raw.port, `${f}.port`), weight, state };
  const node = optionalText(raw.nodeName, `${f}.nodeName`);
  if (node) b.nodeName = node;
  return b;
}

/**
 * Validates and normalizes a service (canonical IPs, defaults: TCP, ClusterIP, weight 1,
 * active, traffic policy Cluster). Throws ServiceValidationError naming the field.
 */
export function validateService(spec: ServiceSpec, limits: ServiceLimits): Service {
  if (typeof spec !== 'object' || spec === null) throw new ServiceValidationError('service', 'must be an object');
  const id = spec.id;
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 1 || id > MaxServiceId) {
    throw new ServiceValidationError('id', `${JSON.stringify(id)} is not a service id (1-${MaxServiceId})`);
  }
  if (typeof spec.frontend !== 'object' || spec.frontend === null) throw new ServiceValidationError('frontend', 'is required (IP, port, protocol)');
  const fip = canonicalIp(spec.frontend.ip, 'frontend.ip');
  const vip: Prefix = { ...parseIPAddr(fip.text)!, bits: fip.family === 4 ? 32 : 128 };
  for (const c of limits.podCidrs) {
    const cidr = parsePrefix(c);
    if (typeof cidr !== 'string' && prefixContains(cidr, vip)) {
      throw new ServiceValidationError('frontend.ip', `${fip.text} lies inside the pod CIDR ${c}; a service address must not be a pod address`);
    }
  }
  const protocol: L4Protocol = oneOf(spec.frontend.protocol, L4Protocols, 'frontend.protocol', 'TCP', true);
  const frontend = { ip: fip.text, port: port(spec.frontend.port, 'frontend.port'), protocol };
  const type: ServiceType = oneOf(spec.type, ServiceTypes, 'type', 'ClusterIP');
  if ((fip.text === '0.0.0.0' || fip.text === '::') && type !== 'NodePort') {
    throw new ServiceValidationError('frontend.ip', `${fip.text} (every node address) is a NodePort frontend only; give the type NodePort (--k8s-node-port) or a service address`);
  }
  const rawBackends = spec.backends ?? [];
  if (!Array.isArray(rawBackends)) throw new ServiceValidationError('backends', 'must be a list');
  if (rawBackends.length > limits.maxBackends) {
    throw new ServiceValidationError('backends', `${rawBackends.length} backends exceed the ${limits.maxBackends} backend slots of a service in the datapath (--bpf-lb-service-backends)`);
  }
  const backends = rawBackends.map((b, i) => backend(b, i, fip.family));
  const seen = new Map<string, number>();
  backends.forEach((b, i) => {
    const k = formatL3n4({ ...b, protocol }, false);
    const prev = seen.get(k);
    if (prev !== undefined) throw new ServiceValidationError(`backends[${i}]`, `${k} is listed twice (also backends[${prev}])`);
    seen.set(k, i);
  });
  const svc: Service = { id, frontend, type, backends, trafficPolicy: oneOf<TrafficPolicy>(spec.trafficPolicy, TrafficPolicies, 'trafficPolicy', 'Cluster') };
  const aff = spec.sessionAffinityTimeoutSeconds;
  if (aff !== undefined && aff !== 0) {
    if (typeof aff !== 'number' || !Number.isInteger(aff) || aff < 1 || aff > MaxAffinityTimeoutSeconds) {
      throw new ServiceValidationError('sessionAffinityTimeoutSeconds', `${JSON.stringify(aff)} is not a timeout (1-${MaxAffinityTimeoutSeconds} s)`);
    }
    svc.sessionAffinityTimeoutSeconds = aff;
  }
  const name = optionalText(spec.name, 'name');
  const namespace = optionalText(spec.namespace, 'namespace');
  if (name) svc.name = name;
  if (namespace) svc.namespace = namespace;
  return svc;
}

/**
 * Checks a validated service against the services already known: an id keeps its
 * frontend (delete it first to move it), and no two ids share a frontend.
 */
export function checkServiceUpdate(existing: Iterable<Service>, next: Service): void {
  for (const s of existing) {
    if (s.id === next.id && !sameFrontend(s.frontend, next.frontend)) {
      throw new ServiceValidationError('frontend', `service ${next.id} already has the frontend ${formatL3n4(s.frontend)}; delete it before giving the id another frontend`);
    }
    if (s.id !== next.id && sameFrontend(s.frontend, next.frontend)) {
      throw new ServiceValidationError('frontend', `${formatL3n4(next.frontend)} is already the frontend of service ${s.id}`);
    }
  }
}
