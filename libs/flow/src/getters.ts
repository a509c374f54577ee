// Narrow interfaces through which the parser enriches flows with metadata; the server
// implements them from the agent's Metadata.Watch stream.

/** A local endpoint as the parser needs it. */
export interface EndpointInfo {
  id: number;
  identity: number;
  namespace: string;
  podName: string;
  /** `source:key=value` labels. */
  labels: readonly string[];
  /** ifindex / name of the host-side interface, when known. */
  hostIfindex?: number;
  hostIfname?: string;
  /** The endpoint's addresses, when known ('' or absent = none of that family). */
  ipv4?: string;
  ipv6?: string;
}

/** A security identity and its labels. */
export interface IdentityInfo {
  id: number;
  labels: readonly string[];
}

/** An ipcache entry for one address. */
export interface IPCacheInfo {
  identity: number;
  namespace: string;
  podName: string;
  nodeName: string;
}

/** Looks up local endpoints by address and by id. */
export interface EndpointGetter {
  getEndpointByIP(ip: string): EndpointInfo | undefined;
  getEndpointByID(id: number): EndpointInfo | undefined;
}

/** Looks up identities by numeric id. */
export interface IdentityGetter {
  getIdentity(id: number): IdentityInfo | undefined;
}

/** Looks up the ipcache entry (longest matching prefix) for an address. */
export interface IPCacheGetter {
  getIPIdentity(ip: string): IPCacheInfo | undefined;
}

/** A service as flows name it (flow.Service: name and namespace). */
export interface ServiceInfo {
  /** Service id (1..65535, also its reverse-NAT index). */
  id: number;
  name: string;
  namespace: string;
}

/** Looks up services by id and by frontend (address, port). */
export interface ServiceGetter {
  getServiceByID(id: number): ServiceInfo | undefined;
  getServiceByAddr(ip: string, port: number): ServiceInfo | undefined;
}
