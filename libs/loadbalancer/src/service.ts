// The service model: a frontend (VIP:port/protocol) and its backends, as Cilium's
// pkg/loadbalancer describes a service. Pure data; validation is in service-validate.ts.

/** L4 protocols a frontend may use (upstream's `--protocol` values). */
export const L4Protocols = ['TCP', 'UDP', 'SCTP'] as const;
/** An L4 protocol of a frontend. */
export type L4Protocol = (typeof L4Protocols)[number];

/** Service types, spelled as `cilium service list` prints them. */
export const ServiceTypes = ['ClusterIP', 'NodePort', 'ExternalIPs', 'LoadBalancer'] as const;
/** The type of a service. */
export type ServiceType = (typeof ServiceTypes)[number];

/** Backend states (upstream's `--states` values). */
export const BackendStates = ['active', 'terminating', 'quarantined', 'maintenance'] as const;
/** The state of a backend: only active backends get new connections. */
export type BackendState = (typeof BackendStates)[number];

/** Traffic policies (Kubernetes' externalTrafficPolicy / internalTrafficPolicy). */
export const TrafficPolicies = ['Cluster', 'Local'] as const;
/** Which backends a frontend may use: all, or only the node's own. */
export type TrafficPolicy = (typeof TrafficPolicies)[number];

/** Largest service id: the id is also the reverse-NAT index, 16 bits as in Cilium. */
export const MaxServiceId = 65535;
/** Default number of backend slots of one service in the datapath (Cilium's LB_MAX_BACKENDS is per service map). */
export const DefaultMaxBackendsPerService = 256;
/** Largest backend weight (u16, as Cilium's). */
export const MaxBackendWeight = 65535;
/** Default backend weight. */
export const DefaultBackendWeight = 1;

/** An address:port with its L4 protocol; the IP is in canonical text form. */
export interface L3n4Addr {
  ip: string;
  port: number;
  protocol: L4Protocol;
}

/** One backend of a service. Its protocol is the frontend's. */
export interface Backend {
  ip: string;
  port: number;
  /** Relative share of new connections (0 = none, as maintenance). */
  weight: number;
  state: BackendState;
  /** Node that hosts the backend, when known (traffic policy Local). */
  nodeName?: string;
}

/** A validated service. */
export interface Service {
  /** Cluster-wide id, 1..65535; also the reverse-NAT index. */
  id: number;
  frontend: L3n4Addr;
  type: ServiceType;
  backends: Backend[];
  /** Client-IP session affinity with its timeout in seconds; absent = none. */
  sessionAffinityTimeoutSeconds?: number;
  trafficPolicy: TrafficPolicy;
  name?: string;
  namespace?: string;
}

/** The frontend of a service as `IP:PORT/PROTO` (IPv6 in brackets). */
export function formatL3n4(a: L3n4Addr, withProtocol = true): string {
  const host = a.ip.includes(':') ? `[${a.ip}]` : a.ip;
  return withProtocol ? `${host}:${a.port}/${a.protocol}` : `${host}:${a.port}`;
}

/** True when two frontends are the same address, port and protocol. */
export function sameFrontend(a: L3n4Addr, b: L3n4Addr): boolean {
  return a.ip === b.ip && a.port === b.port && a.protocol === b.protocol;
}

/** Backends that may get new connections: active with a weight above zero. */
export function activeBackends(svc: Service): Backend[] {
  return svc.backends.filter((b) => b.state === 'active' && b.weight > 0);
}
