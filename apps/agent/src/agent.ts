/**
 * The agent's wiring and lifecycle: kvstore, node registration and pod CIDR, datapath,
 * identities, ipcache, policy, endpoints, event streams and the API server. One place
 * where configuration meets implementation; each part lives in its own file (IPAM
 * persistence in ipam-store.ts, remote ipcache in remote-ipcache.ts, status in
 * agent-status.ts, kvstore connection in kvstore-connect.ts, routing mode in routing-mode.ts).
 */
import { join } from 'node:path';
import { agent } from '@cilium-ts/api';
import { Datapath, EventType, listPinnedMaps, probeKernelFeatures, recordKtimeNs, recordType, type KernelFeature } from '@cilium-ts/bpf';
import { createServer, type GrpcServer } from '@cilium-ts/grpc';
import { deletionQueueDir } from '@cilium-ts/grpc/deletion-queue';
import { type Logger } from '@cilium-ts/process';
import { ClusterPolicyStore, HeartbeatMonitor, IdentityAllocator, IPCacheSync, KvStore, NodeRegistry, type NodeInfo } from '@cilium-ts/kvstore';
import { configOptions } from './agent-config-view.js';
import { AgentMetrics } from './agent-metrics.js';
import type { AgentLog } from './agent-log.js';
import { agentLogService } from './api-agent-log.js';
import { daemonConfigService } from './api-daemon-config.js';
import { policySelectorsService } from './api-policy-selectors.js';
import { agentRuntimeOptions } from './runtime-options.js';
import { endpointOpsService } from './api-endpoint-ops.js';
import { kvstoreService } from './api-kvstore.js';
import { mapsService } from './api-maps.js';
import { unreachableNodes } from './node-reachability.js';
import { agentStatus, type AgentStatus } from './agent-status.js';
import { agentServices, type AgentCore } from './api-services.js';
import { listNodes, nodeToApi, type NodesServiceDeps } from './api-nodes.js';
import { lbServices } from './services/api-lb.js';
import { startNodePort } from './services/start-nodeport.js';
import { startMasquerade } from './masquerade.js';
import { startServices } from './services/start-services.js';
import { endpointToApi, identityToApi } from './api-convert.js';
import { MonotonicClock } from './clock.js';
import { ClusterPolicy } from './cluster-policy.js';
import { startDeletionQueue } from './deletion-queue-drain.js';
import { EndpointManager, type Endpoint } from './endpoint-manager.js';
import { IdentityCache } from './identity-cache.js';
import { Ipv4Allocator } from './ipam.js';
import { Ipv6Allocator } from './ipam-v6.js';
import { IpamStore } from './ipam-store.js';
import { startL7Redirects } from './l7/start-l7-redirects.js';
import { connectKvstore, waitForPodCidr } from './kvstore-connect.js';
import { localIpcache } from './local-ipcache.js';
import { MetadataHub } from './metadata-hub.js';
import { MonitorHub } from './monitor-hub.js';
import { NodeNetns } from './netns.js';
import { NodeRoutes } from './node-routes.js';
import { setupNode } from './node-setup.js';
import { PolicyStore } from './policy-store.js';
import { RemoteIpcache } from './remote-ipcache.js';
import { initFailClosed, podmanLabelReader, RuntimeLabelResolver } from './runtime-labels.js';
import type { AgentConfig } from './agent-config.js';
import { setupRoutingMode } from './routing-mode.js';
import { StateStore } from './state-store.js';
import type { UnderlayProtocol } from './underlay-protocol.js';

/** Largest API request the agent's gRPC server accepts (grpc-js default: 4 MiB). */
export const MaxApiRequestBytes = 16 * 1024 * 1024;

/** Version reported by the agent. */
export const AGENT_VERSION = '0.1.0';

/** AgentEventType numbers of flow.AgentEventType. */
const AgentEvent = { started: 2, policyUpdated: 3, policyDeleted: 4, regenSuccess: 5, regenFailure: 6, endpointCreated: 7, endpointDeleted: 8, ipcacheUpserted: 9, ipcacheDeleted: 10 } as const;

/** A running agent. */
export class Agent {
  private server?: GrpcServer;
  private kv?: KvStore;
  private datapath?: Datapath;
  private allocator?: IdentityAllocator;
  private ipcacheSync?: IPCacheSync;
  private nodes?: NodeRegistry;
  private ipam?: Ipv4Allocator;
  private ipam6?: Ipv6Allocator;
  private readonly ipamStore: IpamStore;
  private routes?: NodeRoutes;
  private readonly closers: Array<() => void | Promise<void>> = [];
  private features: KernelFeature[] = [];
  /** Nodes registered in the kvstore, by name, as the node watch reports them. */
  private readonly clusterNodes = new Map<string, NodeInfo>();
  private readonly clock = new MonotonicClock();
  private clusterPolicy?: ClusterPolicy;
  private heartbeat?: HeartbeatMonitor;
  readonly startedAtNs = this.clock.nowNs();

  constructor(
    readonly cfg: AgentConfig,
    private readonly log: Logger,
    /** The log whose level `cilium config Debug=...` switches and whose newest records debuginfo reads. */
    private readonly agentLog: AgentLog,
  ) {
    this.ipamStore = new IpamStore(cfg.stateDir, () => ({ ipam: this.ipam, ipam6: this.ipam6 }), log);
  }

  /** Tunnel mode's underlay family. */
  private get underlay(): UnderlayProtocol {
    return this.cfg.underlayProtocol ?? 'ipv4';
  }

  /** Bound API addresses. */
  get addresses(): string[] {
    return this.server?.addresses ?? [];
  }

  /** Starts everything; throws with a clear message when something required is missing. */
  async start(): Promise<void> {
    const { cfg, log } = this;
    const netns = new NodeNetns(cfg.nodeNetns || undefined);
    this.features = probeKernelFeatures();

    this.kv = await connectKvstore(cfg, log);
    // The session's keys (node registration, ipcache entries, identity references) outlive a
    // stop until their TTL: a restart must not take this node's pods out of the cluster.
    this.closers.push(() => this.kv?.close({ keepSession: true }));
    const heartbeat = new HeartbeatMonitor(this.kv, { intervalMs: cfg.kvstoreHeartbeatIntervalMs ?? 15_000 }).start();
    this.heartbeat = heartbeat;
    this.closers.push(() => heartbeat.close());
    this.nodes = new NodeRegistry(this.kv, cfg.clusterName);
    await this.nodes.register(this.nodeInfo(cfg.podCidr || undefined, cfg.podCidrV6 || undefined));
    const podCidr = cfg.podCidr || (await waitForPodCidr(this.kv, cfg.nodeName, 'ipv4', log));
    this.ipam = new Ipv4Allocator(podCidr);
    if (cfg.enableIpv6 || cfg.podCidrV6) this.ipam6 = new Ipv6Allocator(cfg.podCidrV6 || (await waitForPodCidr(this.kv, cfg.nodeName, 'ipv6', log)));
    await this.nodes.register(this.nodeInfo(this.ipam.cidr.text, this.ipam6?.cidr.text));
    log.info('pod CIDR', { podCIDR: this.ipam.cidr.text, router: this.ipam.router, podCIDRv6: this.ipam6?.cidr.text, routerv6: this.ipam6?.router });

    await setupNode(netns, this.ipam.router, this.ipam6?.router);
    // Native routing: a route to every other node's pod CIDRs via that node's addresses.
    // Tunnel mode: pods need none (from-container encapsulates; stale native routes are
    // pruned); the node's own traffic goes through cilium_vxlan (see node-routes.ts).
    const ownCidrs = [this.ipam.cidr.text, ...(this.ipam6 ? [this.ipam6.cidr.text] : [])];
    const routes = new NodeRoutes(netns, cfg.nodeName, ownCidrs, (level, msg, fields) => log[level](msg, { subsys: 'routing', ...fields }), cfg.routingMode, this.underlay);
    this.routes = routes;
    this.datapath = await Datapath.open({ pinDir: cfg.bpfPinDir });
    this.closers.push(() => this.datapath?.close());
    // Tunnel mode's node routes go through cilium_vxlan: it exists before the first one.
    await setupRoutingMode({ ...cfg, underlay: this.underlay }, netns, this.datapath, log);
    // This node and the others, for Nodes.ListNodes and hubble-server's peers (Metadata.Watch).
    const nodesView: NodesServiceDeps = {
      localNode: () => this.nodeInfo(this.ipam?.cidr.text, this.ipam6?.cidr.text),
      clusterNodes: () => this.clusterNodes.values(),
    };
    const metadata: MetadataHub = new MetadataHub({
      endpoints: () => endpoints.list().map(endpointToApi),
      identities: () => identities.all().map(([id, labels]) => identityToApi(id, labels, 0)),
      ipcache: () => [...endpoints.list().flatMap((ep) => localIpcache(ep, cfg)), ...remoteIpcache.list()],
      nodes: () => listNodes(nodesView).nodes,
    });
    const nodeWatch = this.nodes.watch({
      upsert: (n) => {
        this.clusterNodes.set(n.name, n);
        void routes.upsert(n).catch(() => undefined);
        const own = n.name === cfg.nodeName;
        metadata.publish('upsert', { node: own ? nodeToApi(nodesView.localNode(), true) : nodeToApi(n, false) });
      },
      delete: (name, cluster) => {
        this.clusterNodes.delete(name);
        void routes.delete(name).catch(() => undefined);
        // This node stays in the list while its registration is away (as in ListNodes).
        if (name !== cfg.nodeName) metadata.publish('delete', { node: agent.Node.fromPartial({ name, cluster }) });
      },
      synced: () => void routes.pruneStale().catch(() => undefined),
    });
    this.closers.push(() => nodeWatch.close());

    const identities = new IdentityCache();
    const policy = new PolicyStore(identities);
    // Set once the sources exist (below); regenerations before that are not timed.
    const metricsRef: { current?: AgentMetrics } = {};
    const monitor = new MonitorHub(() => this.clock.nowNs());
    const store = new StateStore(cfg.stateDir);
    await store.init();
    this.allocator = new IdentityAllocator(this.kv, cfg.nodeName);
    this.closers.push(() => this.allocator?.close());
    this.ipcacheSync = new IPCacheSync(this.kv, cfg.clusterName);
    this.closers.push(() => this.ipcacheSync?.close());

    const datapath = this.datapath;
    const remoteIpcache: RemoteIpcache = new RemoteIpcache({ nodeName: cfg.nodeName, routingMode: cfg.routingMode, underlay: this.underlay }, datapath, metadata);
    // The L7 proxy's policy follows endpoints, policy and identities (l7/); started after the restore.
    const l7 = startL7Redirects({ address: cfg.proxyAddress, datapath, policy, identities, endpoints: () => endpoints.list(), log });
    this.closers.push(() => l7.stop());
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
    this.closers.push(() => runtimeLabels.close());
    const endpoints: EndpointManager = new EndpointManager({
      nodeName: cfg.nodeName,
      nodeIp: cfg.nodeIp,
      nodeIpv6: cfg.nodeIpv6,
      netns,
      datapath,
      identities: this.allocator,
      ipcache: this.ipcacheSync,
      // Diffs carry entries only; enforcement (and the enable-policy mode) comes with compute.
      policy: { compute: (labels) => this.applyMode(initFailClosed(labels, policy.compute(labels))), watch: (labels, fn) => policy.watch(labels, fn) },
      store,
      labelsFromRuntime: (runtime) => runtimeLabels.handles(runtime),
      // An identity this node allocated first: the kvstore watch will report no change, so
      // subscribers (hubble-server resolving remote sources with it) hear of it here.
      learnIdentity: (id, labels) => {
        const changed = identities.upsert(id, labels);
        if (changed) metadata.publish('upsert', { identity: identityToApi(id, labels, 0) });
        return changed;
      },
      events: {
        created: (ep) => {
          monitor.publishAgent(AgentEvent.endpointCreated, { id: ep.id, labels: ep.labels, pod_name: ep.podName, namespace: ep.namespace });
          publishEndpoint(ep);
          if (ep.pendingLabels) runtimeLabels.resolve(ep);
        },
        deleted: (ep) => {
          runtimeLabels.forget(ep.id);
          monitor.publishAgent(AgentEvent.endpointDeleted, { id: ep.id, labels: ep.labels, pod_name: ep.podName, namespace: ep.namespace });
          metadata.publish('delete', { endpoint: endpointToApi(ep) });
          for (const entry of localIpcache(ep, cfg)) metadata.publish('delete', { ipcache: entry });
          l7.rebuild();
        },
        relabeled: (ep) => publishEndpoint(ep),
        regenerated: (ep, error, durationMs) => {
          if (durationMs !== undefined) metricsRef.current?.recordRegeneration(durationMs, !error);
          monitor.publishAgent(error ? AgentEvent.regenFailure : AgentEvent.regenSuccess, { id: ep.id, labels: ep.labels, error: error?.message ?? '' });
        },
      },
      log: (level, msg, fields) => log[level](msg, fields),
      now: () => this.clock.nowNs(),
    });

    // Cluster identities: learn them, recompute policies when the set changes.
    await this.allocator.ready();
    for (const [id, labels] of this.allocator.list()) identities.upsert(id, labels);
    this.allocator.watch((id, labels) => {
      const changed = labels ? identities.upsert(id, labels) : identities.delete(id);
      if (!changed) return;
      metadata.publish(labels ? 'upsert' : 'delete', { identity: identityToApi(id, labels ?? [], 0) });
      // The policy diffs of the identity change are already in the maps (one-way path).
      if (!endpoints.followsPolicyDiffs) void endpoints.regenerateAll('identity change');
    });
    // CIDR identities of the policy (toCIDR/fromCIDR prefixes) resolve in the datapath's ipcache.
    const syncPrefixes = (upserted: Array<{ prefix: string; identity: number }>, deleted: Array<{ prefix: string }>) => {
      for (const p of deleted) datapath.ipcacheDelete(p.prefix);
      for (const p of upserted) datapath.ipcacheUpsert(p.prefix, p.identity);
    };
    syncPrefixes(policy.prefixIdentities(), []);
    policy.onPrefixChange((c) => syncPrefixes(c.upserted, c.deleted));
    policy.onChange((reason) => monitor.publishAgent(reason === 'policy delete' ? AgentEvent.policyDeleted : AgentEvent.policyUpdated, { revision: policy.revision, rule_count: policy.repo.size }));

    // Remote endpoints: the cluster ipcache into the datapath.
    const ipw = remoteIpcache.watch(this.ipcacheSync);
    this.closers.push(() => ipw.close());

    // Restore the policy of a previous run first: restored endpoints keep enforcing it
    // (also while etcd is unreachable); the kvstore's set follows once endpoints are back.
    const policyFile = join(cfg.stateDir, 'policy.json');
    const clusterPolicy = new ClusterPolicy({
      policy,
      file: policyFile,
      regenerate: (reason) => endpoints.regenerateAll(reason),
      log: (level, msg, fields) => log[level](msg, { subsys: 'policy', ...fields }),
    });
    this.clusterPolicy = clusterPolicy;
    try {
      const n = await clusterPolicy.load();
      if (n > 0) log.info('restored policy', { rules: n, revision: clusterPolicy.revision, file: policyFile });
    } catch (err) {
      throw new Error(`cannot restore the saved policy from ${policyFile}: ${(err as Error).message} (fix or remove the file)`, { cause: err });
    }

    // Restore endpoints of a previous run, then their IPAM allocations.
    const states = await store.loadAll((file, err) => log.warn('skipping unreadable endpoint state', { file, error: err.message }));
    await this.ipamStore.load();
    for (const st of states) {
      this.ipam.allocate(st.containerId, st.ipv4);
      if (st.ipv6 && this.ipam6) this.ipam6.allocate(st.containerId, st.ipv6);
    }
    const restored = await endpoints.restore(states);
    if (states.length > 0) log.info('restored endpoints', { restored, found: states.length });
    await this.ipamStore.save();
    l7.start();

    // Prometheus metrics under Cilium's names, read when scraped.
    metricsRef.current = new AgentMetrics({
      datapathCounters: () => datapath.metricsList(),
      endpoints: () => endpoints.list(),
      identities: () => identities.all(),
      policy,
      clusterPolicy,
      kv: this.kv,
      mapFill: () => listPinnedMaps(cfg.bpfPinDir),
      unreachableNodes: () => unreachableNodes(cfg.nodeName, this.clusterNodes.values(), routes.list()).length,
    });

    // Cluster-wide policy: every agent enforces the kvstore's set.
    clusterPolicy.follow(new ClusterPolicyStore(this.kv, cfg.clusterName));
    this.closers.push(() => clusterPolicy.close());

    // Datapath events into the monitor hub.
    const reader = datapath.events();
    // cilium config PolicyVerdictNotification=false: verdict records stop here.
    const verdicts = { on: true };
    reader.on('event', (record: Buffer) => {
      const type = recordType(record);
      if (type === EventType.policyVerdict && !verdicts.on) return;
      monitor.publish({ kind: 'datapath', timeNs: this.clock.toUnixNs(recordKtimeNs(record)), record, type });
    });
    const runtimeOptions = agentRuntimeOptions({
      log: this.agentLog,
      baseLevel: this.agentLog.level === 'debug' ? 'info' : this.agentLog.level,
      verdicts,
      immutable: () => Object.keys(configOptions(cfg)),
    });
    reader.on('lost', (count: number) => monitor.publish({ kind: 'lost', timeNs: this.clock.nowNs(), count }));
    reader.on('error', (err: Error) => log.error('datapath event reader failed', { error: err.message }));
    this.closers.push(() => reader.close());

    // Load-balancing services: the last known ones first, then the kvstore's (services/).
    const { services, socketLb } = await startServices({ kv: this.kv, cfg, podCidrs: () => this.podCidrs(), log });
    this.closers.push(() => services.close(), () => socketLb.close());
    await startNodePort(cfg, netns, log);
    await startMasquerade({ ...cfg, podCidr: this.ipam?.cidr.text }, netns, log);

    const core: AgentCore = {
      nodeName: cfg.nodeName,
      clusterName: cfg.clusterName,
      version: AGENT_VERSION,
      startedAtNs: this.startedAtNs,
      bpfPinDir: cfg.bpfPinDir,
      endpoints,
      policy,
      identities,
      monitor,
      metadata,
      ipam: () => this.ipam,
      ipam6: () => this.ipam6,
      saveIpam: () => this.ipamStore.save(),
      clusterPolicy,
      status: () => this.status(),
      config: () => ({ ...configOptions(cfg), ...runtimeOptions.view() }),
      nodes: nodesView,
      identityReferences: () => {
        const m = new Map<number, number>();
        for (const ep of endpoints.list()) m.set(ep.identity, (m.get(ep.identity) ?? 0) + 1);
        return m;
      },
    };
    this.kv.on('session', () => endpoints.republish());
    // Deletions clients recorded while this agent was unreachable, before the API serves.
    const queueDir = cfg.deletionQueueDir || deletionQueueDir(cfg.listen.find((a) => a.startsWith('unix://')) ?? '');
    if (queueDir) {
      const pools = () => [this.ipam, this.ipam6].filter((p) => p !== undefined);
      const queue = await startDeletionQueue(queueDir, { endpoints, pools, saveIpam: () => this.ipamStore.save(), log: (level, msg, fields) => log[level](msg, { subsys: 'deletion-queue', ...fields }) });
      this.closers.push(() => queue.close());
    }
    this.server = await createServer({
      component: 'agent',
      services: [...agentServices(core), ...lbServices({ services, lbMaps: () => socketLb.list() }), mapsService({ bpfPinDir: cfg.bpfPinDir, datapath, nodeAddresses: [cfg.nodeIp, cfg.nodeIpv6].filter((a): a is string => !!a) }), kvstoreService({ kv: this.kv }),
        policySelectorsService(policy), agentLogService(this.agentLog),
        daemonConfigService(runtimeOptions, (changed, options) => log.info('runtime options changed', { changed, options })),
        endpointOpsService({ endpoints, health: { datapath, link: (n) => netns.link(n), compute: (labels) => this.applyMode(policy.compute(labels)), netns: netns.path } }),
      ],
      addresses: cfg.listen,
      logger: log,
      // Above the policy document limit, so an oversized import gets Policy.Import's own
      // "policy document too large (N bytes, limit M)" instead of the transport's wording.
      grpcOptions: { 'grpc.max_receive_message_length': MaxApiRequestBytes },
    });
    monitor.publishAgent(AgentEvent.started, { time: new Date().toISOString() });
    log.info('agent ready', { node: cfg.nodeName, addresses: this.server.addresses, endpoints: endpoints.list().length });
  }

  /**
   * Stops the API and background work. The datapath stays in the kernel (programs and
   * maps are pinned), so pods keep their connectivity and policy while the agent is down,
   * and the kvstore keys of this node stay until the session lease's TTL, so other nodes
   * keep reaching its pods.
   */
  async stop(timeoutMs = 10_000): Promise<void> {
    await this.server?.shutdown({ timeoutMs });
    for (const c of this.closers.reverse()) {
      try {
        await c();
      } catch (err) {
        this.log.warn('shutdown step failed', { error: (err as Error).message });
      }
    }
  }

  private applyMode<T extends { ingressEnforced: boolean; egressEnforced: boolean }>(p: T): T {
    if (this.cfg.enablePolicy === 'never') return { ...p, ingressEnforced: false, egressEnforced: false };
    if (this.cfg.enablePolicy === 'always') return { ...p, ingressEnforced: true, egressEnforced: true };
    return p;
  }

  /** The cluster's pod CIDRs (this node's and every registered node's): no service VIP may lie inside one. */
  private podCidrs(): string[] {
    const own = [this.ipam?.cidr.text, this.ipam6?.cidr.text];
    const others = [...this.clusterNodes.values()].flatMap((n) => [n.podCIDR, n.podCIDRv6]);
    return [...new Set([...own, ...others].filter((c): c is string => !!c))];
  }

  private nodeInfo(podCIDR: string | undefined, podCIDRv6: string | undefined): NodeInfo {
    return {
      name: this.cfg.nodeName,
      cluster: this.cfg.clusterName,
      ipv4: this.cfg.nodeIp || undefined,
      podCIDR,
      ipv6: this.cfg.nodeIpv6 || undefined,
      podCIDRv6,
      hubbleAddress: this.cfg.hubbleAddress || undefined,
      agentSocket: this.cfg.listen.find((a) => a.startsWith('unix://')),
    };
  }

  private status(): AgentStatus {
    return agentStatus({
      cfg: this.cfg,
      underlay: this.underlay,
      features: this.features,
      kv: this.kv,
      allocator: this.allocator,
      ipcacheSync: this.ipcacheSync,
      datapath: this.datapath,
      routes: this.routes,
      ipam: this.ipam,
      ipam6: this.ipam6,
      policy: this.clusterPolicy,
      heartbeat: this.heartbeat,
    });
  }
}
