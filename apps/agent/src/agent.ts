/**
 * The agent's wiring and lifecycle: kvstore, node registration and pod CIDR, datapath,
 * identities, ipcache, policy, endpoints, event streams and the API server, started as
 * named phases in a fixed order with an explicit undo (start-phases.ts). One place
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
import type { Service } from '@cilium-ts/loadbalancer';
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
import { lbServices, serviceToApi } from './services/api-lb.js';
import type { ServiceManager } from './services/service-manager.js';
import { SockEndpoints } from './services/sock-endpoints.js';
import { startNodePort } from './services/start-nodeport.js';
import { startMasquerade } from './masquerade.js';
import { startServices } from './services/start-services.js';
import { endpointToApi, identityToApi } from './api-convert.js';
import { AgentEvent } from './agent-event-type.js';
import { MonotonicClock } from './clock.js';
import { ClusterPolicy } from './cluster-policy.js';
import { startDeletionQueue } from './deletion-queue-drain.js';
import type { EndpointManager } from './endpoint-manager.js';
import { createEndpointManager, type AgentHubs } from './endpoint-wiring.js';
import { IdentityCache } from './identity-cache.js';
import { Ipv4Allocator } from './ipam.js';
import { Ipv6Allocator } from './ipam-v6.js';
import { IpamStore } from './ipam-store.js';
import { fqdnService } from './l7/api-fqdn.js';
import { startL7Redirects, type L7RedirectsHandle } from './l7/start-l7-redirects.js';
import { connectKvstore, waitForPodCidr } from './kvstore-connect.js';
import { localIpcache } from './local-ipcache.js';
import { MetadataHub } from './metadata-hub.js';
import { MonitorHub } from './monitor-hub.js';
import { NodeNetns } from './netns.js';
import { NodeRoutes } from './node-routes.js';
import { setupNode } from './node-setup.js';
import { PolicyStore } from './policy-store.js';
import { RemoteIpcache } from './remote-ipcache.js';
import { initFailClosed } from './runtime-labels.js';
import { runStartPhase, UndoStack } from './start-phases.js';
import type { AgentConfig } from './agent-config.js';
import { setupRoutingMode } from './routing-mode.js';
import { StateStore } from './state-store.js';
import type { UnderlayProtocol } from './underlay-protocol.js';

/** Largest API request the agent's gRPC server accepts (grpc-js default: 4 MiB). */
export const MaxApiRequestBytes = 16 * 1024 * 1024;

/** Version reported by the agent. */
export const AGENT_VERSION = '0.1.0';


/** The runtime-mutable options (cilium config KEY=VALUE) phase observers creates. */
type RuntimeOptions = ReturnType<typeof agentRuntimeOptions>;

/** What phase endpoints hands to the phases after it. */
interface EndpointsPhase {
  endpoints: EndpointManager;
  l7: L7RedirectsHandle;
  store: StateStore;
  allocator: IdentityAllocator;
  ipcacheSync: IPCacheSync;
}

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
  /** What the start phases acquired, undone in reverse on a failed start and on stop. */
  private readonly undo: UndoStack;
  private endpoints?: EndpointManager;
  private features: KernelFeature[] = [];
  /** Nodes registered in the kvstore, by name, as the node watch reports them. */
  private readonly clusterNodes = new Map<string, NodeInfo>();
  private readonly clock = new MonotonicClock();
  private clusterPolicy?: ClusterPolicy;
  /** The served services (phase services on); read by the metadata hub's snapshot. */
  private services?: ServiceManager;
  private heartbeat?: HeartbeatMonitor;
  readonly startedAtNs = this.clock.nowNs();

  constructor(
    readonly cfg: AgentConfig,
    private readonly log: Logger,
    /** The log whose level `cilium config Debug=...` switches and whose newest records debuginfo reads. */
    private readonly agentLog: AgentLog,
  ) {
    this.undo = new UndoStack(log);
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

  /**
   * Starts everything; throws with a clear message when something required is missing.
   * The phases run in this order, each documented at its method; a phase that fails
   * undoes what it and the phases before it acquired (start-phases.ts) and its error is
   * rethrown unchanged.
   */
  async start(): Promise<void> {
    const { cfg, log, undo } = this;
    const phase = <T>(name: string, run: () => T | Promise<T>) => runStartPhase(name, undo, log, run);
    const netns = new NodeNetns(cfg.nodeNetns || undefined);
    this.features = probeKernelFeatures();
    const { kv, nodes, ipam } = await phase('kvstore', () => this.joinCluster());
    const { datapath, routes } = await phase('datapath', () => this.openDatapath(netns, ipam));
    const hubs = await phase('hubs', () => this.createHubs(nodes, routes, datapath));
    const { endpoints, l7, store, allocator, ipcacheSync } = await phase('endpoints', () => this.createEndpoints(kv, netns, datapath, hubs));
    await phase('identities', () => this.followIdentities(datapath, endpoints, allocator, ipcacheSync, hubs));
    const clusterPolicy = await phase('restore', () => this.restoreState(ipam, store, endpoints, l7, hubs));
    const runtimeOptions = await phase('observers', () => this.startObservers(kv, datapath, routes, endpoints, clusterPolicy, hubs));
    const lb = await phase('services', () => this.startLoadBalancing(kv, netns, hubs));
    await phase('api', () => this.serveApi(kv, netns, datapath, endpoints, clusterPolicy, lb, runtimeOptions, hubs, l7));
  }

  /**
   * Phase kvstore: connects to the kvstore (its session's keys outlive a stop until their
   * TTL), follows the operator heartbeat, registers this node and gets its pod CIDRs
   * (flags, else the operator's assignment) into the IPAM allocators.
   * Undo: heartbeat, kvstore connection (session kept).
   */
  private async joinCluster(): Promise<{ kv: KvStore; nodes: NodeRegistry; ipam: Ipv4Allocator }> {
    const { cfg, log } = this;
    const kv = await connectKvstore(cfg, log);
    this.kv = kv;
    // The session's keys (node registration, ipcache entries, identity references) outlive a
    // stop until their TTL: a restart must not take this node's pods out of the cluster.
    this.undo.push(() => kv.close({ keepSession: true }));
    const heartbeat = new HeartbeatMonitor(kv, { intervalMs: cfg.kvstoreHeartbeatIntervalMs ?? 15_000 }).start();
    this.heartbeat = heartbeat;
    this.undo.push(() => heartbeat.close());
    const nodes = new NodeRegistry(kv, cfg.clusterName);
    await nodes.register(this.nodeInfo(cfg.podCidr || undefined, cfg.podCidrV6 || undefined));
    const podCidr = cfg.podCidr || (await waitForPodCidr(kv, cfg.nodeName, 'ipv4', log));
    const ipam = new Ipv4Allocator(podCidr);
    this.ipam = ipam;
    if (cfg.enableIpv6 || cfg.podCidrV6) this.ipam6 = new Ipv6Allocator(cfg.podCidrV6 || (await waitForPodCidr(kv, cfg.nodeName, 'ipv6', log)));
    await nodes.register(this.nodeInfo(ipam.cidr.text, this.ipam6?.cidr.text));
    log.info('pod CIDR', { podCIDR: ipam.cidr.text, router: ipam.router, podCIDRv6: this.ipam6?.cidr.text, routerv6: this.ipam6?.router });
    return { kv, nodes, ipam };
  }

  /**
   * Phase datapath: the node's namespace (router addresses), the node routes' owner, the
   * BPF datapath (programs and maps, pinned) and the routing mode (tunnel: cilium_vxlan
   * before the first route through it). Undo: closes the datapath handle (pins stay).
   */
  private async openDatapath(netns: NodeNetns, ipam: Ipv4Allocator): Promise<{ datapath: Datapath; routes: NodeRoutes }> {
    const { cfg, log } = this;
    await setupNode(netns, ipam.router, this.ipam6?.router);
    // Native routing: a route to every other node's pod CIDRs via that node's addresses.
    // Tunnel mode: pods need none (from-container encapsulates; stale native routes are
    // pruned); the node's own traffic goes through cilium_vxlan (see node-routes.ts).
    const ownCidrs = [ipam.cidr.text, ...(this.ipam6 ? [this.ipam6.cidr.text] : [])];
    const routes = new NodeRoutes(netns, cfg.nodeName, ownCidrs, (level, msg, fields) => log[level](msg, { subsys: 'routing', ...fields }), cfg.routingMode, this.underlay);
    this.routes = routes;
    const datapath = await Datapath.open({ pinDir: cfg.bpfPinDir });
    this.datapath = datapath;
    this.undo.push(() => datapath.close());
    // Tunnel mode's node routes go through cilium_vxlan: it exists before the first one.
    await setupRoutingMode({ ...cfg, underlay: this.underlay }, netns, datapath, log);
    return { datapath, routes };
  }

  /**
   * Phase hubs: what the later phases publish into and read from: identities, the policy
   * repository, the monitor and metadata hubs (nodes, endpoints, identities, ipcache for
   * hubble-server), the remote ipcache, and the node watch (routes, metadata).
   * Undo: the node watch.
   */
  private createHubs(nodes: NodeRegistry, routes: NodeRoutes, datapath: Datapath): AgentHubs {
    const { cfg } = this;
    const identities = new IdentityCache();
    const policy = new PolicyStore(identities);
    const monitor = new MonitorHub(() => this.clock.nowNs());
    // This node and the others, for Nodes.ListNodes and hubble-server's peers (Metadata.Watch).
    const nodesView: NodesServiceDeps = {
      localNode: () => this.nodeInfo(this.ipam?.cidr.text, this.ipam6?.cidr.text),
      clusterNodes: () => this.clusterNodes.values(),
    };
    // Endpoints exist from phase endpoints on; the hub is read once the API serves.
    const metadata: MetadataHub = new MetadataHub({
      endpoints: () => (this.endpoints?.list() ?? []).map(endpointToApi),
      identities: () => identities.all().map(([id, labels]) => identityToApi(id, labels, 0)),
      ipcache: () => [...(this.endpoints?.list() ?? []).flatMap((ep) => localIpcache(ep, cfg)), ...remoteIpcache.list()],
      nodes: () => listNodes(nodesView).nodes,
      services: () => (this.services?.list() ?? []).map(serviceToApi),
    });
    const remoteIpcache: RemoteIpcache = new RemoteIpcache({ nodeName: cfg.nodeName, routingMode: cfg.routingMode, underlay: this.underlay }, datapath, metadata);
    const nodeWatch = nodes.watch({
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
    this.undo.push(() => nodeWatch.close());
    const sockEndpoints = new SockEndpoints((msg, fields) => this.log.warn(msg, { subsys: 'service', ...fields }));
    return { identities, policy, monitor, metadata, nodesView, remoteIpcache, sockEndpoints, metrics: {} };
  }

  /**
   * Phase endpoints: the endpoint state directory, the identity allocator and the cluster
   * ipcache publisher, the L7 redirects (started after the restore) and the endpoint
   * manager with its observers (endpoint-wiring.ts).
   * Undo: runtime label reads, L7 redirects, ipcache publisher, identity allocator.
   */
  private async createEndpoints(kv: KvStore, netns: NodeNetns, datapath: Datapath, hubs: AgentHubs): Promise<EndpointsPhase> {
    const { cfg, log } = this;
    const store = new StateStore(cfg.stateDir);
    await store.init();
    const allocator = new IdentityAllocator(kv, cfg.nodeName);
    this.allocator = allocator;
    this.undo.push(() => allocator.close());
    const ipcacheSync = new IPCacheSync(kv, cfg.clusterName);
    this.ipcacheSync = ipcacheSync;
    this.undo.push(() => ipcacheSync.close());
    // The L7 proxy's policy follows endpoints, policy and identities (l7/); started after the restore.
    const l7 = startL7Redirects({ address: cfg.proxyAddress, datapath, policy: hubs.policy, identities: hubs.identities, endpoints: () => this.endpoints?.list() ?? [], log, minTtlSeconds: cfg.tofqdnsMinTtl, stateDir: cfg.stateDir });
    this.undo.push(() => l7.stop());
    const { endpoints, runtimeLabels } = createEndpointManager({
      cfg,
      netns,
      datapath,
      allocator,
      ipcacheSync,
      store,
      l7,
      ...hubs,
      compute: (labels) => this.applyMode(initFailClosed(labels, hubs.policy.compute(labels))),
      now: () => this.clock.nowNs(),
      log,
    });
    this.endpoints = endpoints;
    this.undo.push(() => runtimeLabels.close());
    return { endpoints, l7, store, allocator, ipcacheSync };
  }

  /**
   * Phase identities: learns the cluster's identities and follows their changes (policy
   * diffs reach the maps, metadata subscribers hear of them), the policy's CIDR identities
   * into the datapath ipcache, and the cluster ipcache (remote endpoints) into it.
   * Undo: the cluster ipcache watch.
   */
  private async followIdentities(datapath: Datapath, endpoints: EndpointManager, allocator: IdentityAllocator, ipcacheSync: IPCacheSync, hubs: AgentHubs): Promise<void> {
    const { identities, metadata, policy, monitor } = hubs;
    await allocator.ready();
    for (const [id, labels] of allocator.list()) identities.upsert(id, labels);
    allocator.watch((id, labels) => {
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
    const ipw = hubs.remoteIpcache.watch(ipcacheSync);
    this.undo.push(() => ipw.close());
  }

  /**
   * Phase restore: the policy of a previous run first (restored endpoints keep enforcing
   * it, also while etcd is unreachable; the kvstore's set follows in phase observers),
   * then its endpoints and their IPAM allocations; then the L7 redirects start.
   * A saved policy that cannot be read stops the agent. Undo: none (state files stay).
   */
  private async restoreState(ipam: Ipv4Allocator, store: StateStore, endpoints: EndpointManager, l7: L7RedirectsHandle, hubs: AgentHubs): Promise<ClusterPolicy> {
    const { cfg, log } = this;
    const policyFile = join(cfg.stateDir, 'policy.json');
    const clusterPolicy = new ClusterPolicy({
      policy: hubs.policy,
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
      ipam.allocate(st.containerId, st.ipv4);
      if (st.ipv6 && this.ipam6) this.ipam6.allocate(st.containerId, st.ipv6);
    }
    const restored = await endpoints.restore(states);
    if (states.length > 0) log.info('restored endpoints', { restored, found: states.length });
    await this.ipamStore.save();
    l7.start();
    return clusterPolicy;
  }

  /**
   * Phase observers: Prometheus metrics under Cilium's names (read when scraped), the
   * cluster-wide policy followed from the kvstore, datapath events into the monitor hub
   * (and the runtime options that switch verdict records and the log level).
   * Undo: datapath event reader, cluster policy watch.
   */
  private startObservers(kv: KvStore, datapath: Datapath, routes: NodeRoutes, endpoints: EndpointManager, clusterPolicy: ClusterPolicy, hubs: AgentHubs): RuntimeOptions {
    const { cfg, log } = this;
    const { monitor } = hubs;
    hubs.metrics.current = new AgentMetrics({
      datapathCounters: () => datapath.metricsList(),
      endpoints: () => endpoints.list(),
      identities: () => hubs.identities.all(),
      policy: hubs.policy,
      clusterPolicy,
      kv,
      mapFill: () => listPinnedMaps(cfg.bpfPinDir),
      unreachableNodes: () => unreachableNodes(cfg.nodeName, this.clusterNodes.values(), routes.list()).length,
    });

    // Cluster-wide policy: every agent enforces the kvstore's set.
    clusterPolicy.follow(new ClusterPolicyStore(kv, cfg.clusterName));
    this.undo.push(() => clusterPolicy.close());

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
    this.undo.push(() => reader.close());
    return runtimeOptions;
  }

  /**
   * Phase services: load-balancing services (the last known ones first, then the
   * kvstore's; services/), NodePort and masquerading. Undo: socket LB, services watch.
   */
  private async startLoadBalancing(kv: KvStore, netns: NodeNetns, hubs: AgentHubs): Promise<Awaited<ReturnType<typeof startServices>>> {
    const { cfg, log } = this;
    // hubble-server names socket-LB flows by their service (Metadata.Watch) and their pod
    // by the netns cookie in sock_endpoints (trace sock records).
    const changed = (kind: 'upsert' | 'delete', svc: Service): void => hubs.metadata.publish(kind, { service: serviceToApi(svc) });
    const lb = await startServices({ kv, cfg, podCidrs: () => this.podCidrs(), log, changed });
    this.services = lb.services;
    this.undo.push(() => lb.services.close(), () => lb.socketLb.close());
    hubs.sockEndpoints.attach(lb.socketLb);
    await startNodePort(cfg, netns, log);
    await startMasquerade({ ...cfg, podCidr: this.ipam?.cidr.text }, netns, log);
    return lb;
  }

  /**
   * Phase api: drains the deletions clients recorded while this agent was unreachable,
   * then serves the gRPC API and announces the start. Undo: deletion queue follower (the
   * server is shut down by stop()).
   */
  private async serveApi(kv: KvStore, netns: NodeNetns, datapath: Datapath, endpoints: EndpointManager, clusterPolicy: ClusterPolicy, lb: Awaited<ReturnType<typeof startServices>>, runtimeOptions: RuntimeOptions, hubs: AgentHubs, l7: L7RedirectsHandle): Promise<void> {
    const { cfg, log } = this;
    const { policy, identities, monitor, metadata } = hubs;
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
      nodes: hubs.nodesView,
      identityReferences: () => {
        const m = new Map<number, number>();
        for (const ep of endpoints.list()) m.set(ep.identity, (m.get(ep.identity) ?? 0) + 1);
        return m;
      },
    };
    kv.on('session', () => endpoints.republish());
    // Deletions clients recorded while this agent was unreachable, before the API serves.
    const queueDir = cfg.deletionQueueDir || deletionQueueDir(cfg.listen.find((a) => a.startsWith('unix://')) ?? '');
    if (queueDir) {
      const pools = () => [this.ipam, this.ipam6].filter((p) => p !== undefined);
      const queue = await startDeletionQueue(queueDir, { endpoints, pools, saveIpam: () => this.ipamStore.save(), log: (level, msg, fields) => log[level](msg, { subsys: 'deletion-queue', ...fields }) });
      this.undo.push(() => queue.close());
    }
    const { services, socketLb } = lb;
    this.server = await createServer({
      component: 'agent',
      services: [...agentServices(core), ...lbServices({ services, lbMaps: () => socketLb.list() }), mapsService({ bpfPinDir: cfg.bpfPinDir, datapath, nodeAddresses: [cfg.nodeIp, cfg.nodeIpv6].filter((a): a is string => !!a) }), kvstoreService({ kv }), fqdnService(() => l7.fqdn),
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
    await this.undo.unwind();
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
