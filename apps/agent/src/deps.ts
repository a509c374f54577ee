/**
 * The narrow interfaces the agent's core depends on. main.ts wires the real
 * implementations (libs/bpf, libs/kvstore, libs/policy); tests may wire their own.
 */

import type { EndpointDatapathSpec } from '@cilium-ts/bpf';
import type { PolicyDiff, PolicyEntry } from '@cilium-ts/policy';

/** A policy map entry as libs/policy computes it and the datapath takes it (one declaration, libs/policy's). */
export type MapEntry = PolicyEntry;

/** What the endpoint manager needs of the datapath (libs/bpf Datapath). */
export interface DatapathPort {
  attachEndpoint(spec: EndpointDatapathSpec, policy: MapEntry[]): Promise<unknown>;
  /** Resync: makes the endpoint's policy map equal to policy (reads the map once). */
  updatePolicy(endpointId: number, policy: MapEntry[]): void;
  /** The one-way path: writes exactly what a policy diff changes (absent: every change is a resync). */
  applyPolicyDiff?(endpointId: number, diff: { removed: readonly MapEntry[]; added: readonly MapEntry[] }): void;
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
  /** Calls fn with every later diff of the policy of endpoints with labels; returns the unsubscribe function (absent: no diffs, full recomputes only). */
  watch?(labels: string[], fn: (diff: PolicyDiff) => void): () => void;
}
