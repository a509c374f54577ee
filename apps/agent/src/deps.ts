/**
 * The narrow interfaces the agent's core depends on. main.ts wires the real
 * implementations (libs/bpf, libs/kvstore, libs/policy); tests may wire their own.
 */

import type { EndpointDatapathSpec, PolicyEntry } from '@cilium-ts/bpf';

/** A policy map entry as the datapath takes it (libs/policy computes the same shape). */
export type MapEntry = PolicyEntry;

/** What the endpoint manager needs of the datapath (libs/bpf Datapath). */
export interface DatapathPort {
  attachEndpoint(spec: EndpointDatapathSpec, policy: MapEntry[]): Promise<unknown>;
  updatePolicy(endpointId: number, policy: MapEntry[]): void;
  detachEndpoint(spec: { id: number; hostIfname: string; netns?: string }): Promise<void>;
  ipcacheUpsert(cidr: string, identity: number, hostIp?: string): void;
  ipcacheDelete(cidr: string): void;
  /** Turns the datapath's debug records (monitor type 2) for one endpoint on or off. */
  setEndpointDebug(endpointId: number, on: boolean): void;
}

/** Cluster-wide identity allocation (libs/kvstore IdentityAllocator). */
export interface IdentityPort {
  allocate(labels: string[]): Promise<{ id: number; isNew: boolean }>;
  release(labels: string[]): Promise<void>;
}

/** Publication of this node's endpoints into the cluster ipcache (libs/kvstore IPCacheSync). */
export interface IPCachePublisher {
  upsert(entry: { ip: string; identity: number; hostIP: string; hostIPv6?: string; node: string; namespace: string; pod: string }): Promise<void>;
  delete(ip: string): Promise<void>;
}

/** Computed policy of one endpoint. */
export interface EndpointPolicy {
  ingressEnforced: boolean;
  egressEnforced: boolean;
  entries: MapEntry[];
  revision: number;
}

/** Computes an endpoint's policy from its labels (libs/policy). */
export interface PolicyComputer {
  compute(labels: string[]): EndpointPolicy;
}
