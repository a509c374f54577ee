/**
 * The agent's endpoint manager wired to its observers: the monitor hub (agent events),
 * the metadata hub (endpoints, their ipcache entries and identities for hubble-server),
 * the L7 redirects, the regeneration metric, and the runtime label resolver that gives
 * podman containers their labels once ADD has returned (runtime-labels.ts).
 */
import type { Datapath } from '@cilium-ts/bpf';
import type { IdentityAllocator, IPCacheSync } from '@cilium-ts/kvstore';
import type { Logger } from '@cilium-ts/process';
import type { AgentConfig } from './agent-config.js';
import { AgentEvent } from './agent-event-type.js';
import type { AgentMetrics } from './agent-metrics.js';
import type { NodesServiceDeps } from './api-nodes.js';
import { endpointToApi, identityToApi } from './api-convert.js';
import { EndpointManager, type Endpoint, type EndpointManagerDeps } from './endpoint-manager.js';
import type { IdentityCache } from './identity-cache.js';
import type { L7RedirectsHandle } from './l7/start-l7-redirects.js';
import { localIpcache } from './local-ipcache.js';
import type { MetadataHub } from './metadata-hub.js';
import type { MonitorHub } from './monitor-hub.js';
import type { NodeNetns } from './netns.js';
import type { PolicyStore } from './policy-store.js';
import type { RemoteIpcache } from './remote-ipcache.js';
import type { SockEndpoints } from './services/sock-endpoints.js';
import { podmanLabelReader, RuntimeLabelResolver } from './runtime-labels.js';
import type { StateStore } from './state-store.js';

/** The agent's shared hubs: what its start phases publish into and read from. */
export interface AgentHubs {
  identities: IdentityCache;
  policy: PolicyStore;
  monitor: MonitorHub;
  metadata: MetadataHub;
  nodesView: NodesServiceDeps;
  remoteIpcache: RemoteIpcache;
  /** Names endpoints (by netns cookie) to the socket LB's trace records; attached in phase services. */
  sockEndpoints: SockEndpoints;
  /** Set once the metric sources exist; regenerations before that are not timed. */
  metrics: { current?: AgentMetrics };
}

/** What createEndpointManager wires together. */
export interface EndpointWiringDeps extends AgentHubs {
  cfg: AgentConfig;
  netns: NodeNetns;
  datapath: Datapath;
  allocator: IdentityAllocator;
  ipcacheSync: IPCacheSync;
  store: StateStore;
  l7: L7RedirectsHandle;
  /** An endpoint's policy with the agent's enforcement mode applied. */
  compute: EndpointManagerDeps['policy']['compute'];
  now: () => bigint;
  log: Logger;
}

/** Creates the endpoint manager and its runtime label resolver (the caller closes the resolver). */
export function createEndpointManager(d: EndpointWiringDeps): { endpoints: EndpointManager; runtimeLabels: RuntimeLabelResolver } {
  const { cfg, monitor, metadata, l7, log } = d;
  // A new or relabeled endpoint: subscribers and the L7 proxy learn its identity and addresses.
  const publishEndpoint = (ep: Endpoint): void => {
    metadata.publish('upsert', { endpoint: endpointToApi(ep) });
    for (const entry of localIpcache(ep, cfg)) metadata.publish('upsert', { ipcache: entry });
    l7.schedule();
  };
  // Labels of podman containers come from podman once ADD has returned (runtime-labels.ts).
  const runtimeLabels = new RuntimeLabelResolver({
    readers: { podman: podmanLabelReader(cfg.podmanCommand) },
    apply: async (id, labels) => void (await endpoints.setRuntimeLabels(id, labels)),
    log: (level, msg, fields) => log[level](msg, { subsys: 'runtime-labels', ...fields }),
  });
  const endpoints: EndpointManager = new EndpointManager({
    nodeName: cfg.nodeName,
    nodeIp: cfg.nodeIp,
    nodeIpv6: cfg.nodeIpv6,
    netns: d.netns,
    datapath: d.datapath,
    identities: d.allocator,
    ipcache: d.ipcacheSync,
    // Diffs carry entries only; enforcement (and the enable-policy mode) comes with compute.
    policy: { compute: d.compute, watch: (labels, fn) => d.policy.watch(labels, fn) },
    store: d.store,
    labelsFromRuntime: (runtime) => runtimeLabels.handles(runtime),
    // An identity this node allocated first: the kvstore watch will report no change, so
    // subscribers (hubble-server resolving remote sources with it) hear of it here.
    learnIdentity: (id, labels) => {
      const changed = d.identities.upsert(id, labels);
      if (changed) metadata.publish('upsert', { identity: identityToApi(id, labels, 0) });
      return changed;
    },
    events: {
      created: (ep) => {
        monitor.publishAgent(AgentEvent.endpointCreated, { id: ep.id, labels: ep.labels, pod_name: ep.podName, namespace: ep.namespace });
        publishEndpoint(ep);
        d.sockEndpoints.add({ id: ep.id, netns: ep.netns });
        if (ep.pendingLabels) runtimeLabels.resolve(ep);
      },
      deleted: (ep) => {
        runtimeLabels.forget(ep.id);
        d.sockEndpoints.remove(ep.id);
        monitor.publishAgent(AgentEvent.endpointDeleted, { id: ep.id, labels: ep.labels, pod_name: ep.podName, namespace: ep.namespace });
        metadata.publish('delete', { endpoint: endpointToApi(ep) });
        for (const entry of localIpcache(ep, cfg)) metadata.publish('delete', { ipcache: entry });
        l7.rebuild();
        l7.fqdn.forgetEndpoint(ep.id);
      },
      relabeled: (ep) => publishEndpoint(ep),
      regenerated: (ep, error, durationMs) => {
        if (durationMs !== undefined) d.metrics.current?.recordRegeneration(durationMs, !error);
        monitor.publishAgent(error ? AgentEvent.regenFailure : AgentEvent.regenSuccess, { id: ep.id, labels: ep.labels, error: error?.message ?? '' });
      },
    },
    log: (level, msg, fields) => log[level](msg, fields),
    now: d.now,
  });
  return { endpoints, runtimeLabels };
}
