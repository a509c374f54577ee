/**
 * The agent's wiring and lifecycle: kvstore, node registration and pod CIDR, datapath,
 * identities, ipcache, policy, endpoints, event streams and the API server. One place
 * where configuration meets implementation.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { agent } from '@cilium-ts/api';
import { Datapath, probeKernelFeatures, recordKtimeNs, recordType, type KernelFeature } from '@cilium-ts/bpf';
import { createServer, type GrpcServer, type Logger } from '@cilium-ts/grpc';
import { DefaultKvstoreLeaseTtlSeconds, IdentityAllocator, IPCacheSync, KvStore, NodeRegistry, type KvStoreTls, type NodeInfo } from '@cilium-ts/kvstore';
import { agentServices, type AgentCore } from './api-services.js';
import { endpointToApi, identityToApi } from './api-convert.js';
import { MonotonicClock } from './clock.js';
import { EndpointManager, type Endpoint } from './endpoint-manager.js';
import { IdentityCache } from './identity-cache.js';
import { Ipv4Allocator } from './ipam.js';
import { Ipv6Allocator } from './ipam-v6.js';
import { MetadataHub } from './metadata-hub.js';
import { MonitorHub } from './monitor-hub.js';
import { NodeNetns } from './netns.js';
import { NodeRoutes, RoutingModeError, type RoutingMode } from './node-routes.js';
import { underlayAddress, UnderlayProtocolError, type UnderlayProtocol } from './underlay-protocol.js';
import { removeVxlan, setupNode, setupVxlan, VXLAN_IFNAME, VXLAN_PORT } from './node-setup.js';
import { PolicyStore } from './policy-store.js';
import { StateStore } from './state-store.js';

/** Largest API request the agent's gRPC server accepts (grpc-js default: 4 MiB). */
export const MaxApiRequestBytes = 16 * 1024 * 1024;

/** Version reported by the agent. */
export const AGENT_VERSION = '0.1.0';

/** Resolved configuration of one agent. */
export interface AgentConfig {
  nodeName: string;
  clusterName: string;
  nodeNetns: string;
  nodeIp: string;
  podCidr: string;
  /** IPv6 address of this node (next hop of other nodes' routes to our IPv6 pod CIDR); empty = none. */
  nodeIpv6?: string;
  /** IPv6 pod CIDR; empty with enableIpv6 = wait for the operator's IPv6 pool. */
  podCidrV6?: string;
  /** Pods get IPv6 addresses too. */
  enableIpv6?: boolean;
  kvstoreEndpoints: string[];
  /** TLS to etcd (CA, client certificate and key), from the --kvstore-*-file flags. */
  kvstoreTls?: KvStoreTls;
  kvstorePrefix: string;
  kvstoreConnectTimeout: number;
  /** TTL of the session lease this node's keys are bound to (--kvstore-lease-ttl; default 15 min). */
  kvstoreLeaseTtlSeconds?: number;
  stateDir: string;
  bpfPinDir: string;
  listen: string[];
  hubbleAddress: string;
  enablePolicy: 'default' | 'always' | 'never';
  /** How pod traffic crosses nodes: native routes, or VXLAN with the identity in the VNI. */
  routingMode: RoutingMode;
  /** Tunnel mode: the family of the VXLAN outer header (--underlay-protocol; default ipv4). */
  underlayProtocol?: UnderlayProtocol;
}

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
  /** The last IPAM save, to chain the next one on (see saveIpam). */
  private ipamSaves: Promise<void> = Promise.resolve();
  private routes?: NodeRoutes;
  private readonly closers: Array<() => void | Promise<void>> = [];
  private features: KernelFeature[] = [];
  private readonly remoteIpcache = new Map<string, agent.IPCacheEntry>();
  /** Nodes registered in the kvstore, by name, as the node watch reports them. */
  private readonly clusterNodes = new Map<string, NodeInfo>();
  private readonly clock = new MonotonicClock();
  /** Persists the policy repository; set once the state directory is known. */
  private savePolicy: () => Promise<void> = async () => undefined;
  readonly startedAtNs = this.clock.nowNs();

  constructor(
    readonly cfg: AgentConfig,
    private readonly log: Logger,
  ) {}

  /** Tunnel mode's underlay family. */
  private get underlay(): UnderlayProtocol {
    return this.cfg.underlayProtocol ?? 'ipv4';
  }

  /** Bound API addresses. */
  get addresses(): string[] {
    return this.server?.addresses ?? [];
  }

  /** Tunnel mode: cilium_vxlan, the tunnel settings and from-overlay. Native: all of that off. */
  private async setupRoutingMode(netns: NodeNetns, datapath: Datapath): Promise<void> {
    const target = { ifname: VXLAN_IFNAME, netns: netns.path };
    if (this.cfg.routingMode === 'tunnel') {
      const underlay = this.underlay;
      if (underlay === 'ipv4' && !this.cfg.nodeIp) throw new RoutingModeError('tunnel', 'needs --node-ip (the IPv4 underlay address other nodes reach this one at)');
      if (underlay === 'ipv6' && !this.cfg.nodeIpv6) {
        throw new UnderlayProtocolError('ipv6', 'tunnel mode over IPv6 needs --node-ipv6 (the IPv6 underlay address other nodes reach this one at)');
      }
      const ifindex = await setupVxlan(netns);
      // Restart safety: libs/bpf keeps the attached from-overlay when it is the pinned program of this build with the current shared maps.
      const { reattached: attached } = await datapath.attachOverlay(target);
      // Both of the node's addresses: a packet toward either is this node's own (delivered natively).
      datapath.setTunnel({ ifindex, ...(this.cfg.nodeIp ? { localIpv4: this.cfg.nodeIp } : {}), ...(this.cfg.nodeIpv6 ? { localIpv6: this.cfg.nodeIpv6 } : {}) });
      this.log.info('tunnel mode', { device: VXLAN_IFNAME, ifindex, port: VXLAN_PORT, underlay, fromOverlay: attached ? 'attached' : 'kept (already current)' });
      return;
    }
    datapath.setTunnel(undefined);
    if (await netns.link(VXLAN_IFNAME)) {
      await datapath.detachOverlay(target);
      await removeVxlan(netns);
    }
  }

  /** Starts everything; throws with a clear message when something required is missing. */
  async start(): Promise<void> {
    const { cfg, log } = this;
    const netns = new NodeNetns(cfg.nodeNetns || undefined);
    this.features = probeKernelFeatures();

    this.kv = await this.connectKvstore();
    // The session's keys (node registration, ipcache entries, identity references) outlive a
    // stop until their TTL: a restart must not take this node's pods out of the cluster.
    this.closers.push(() => this.kv?.close({ keepSession: true }));
    this.nodes = new NodeRegistry(this.kv, cfg.clusterName);
    await this.nodes.register(this.nodeInfo(cfg.podCidr || undefined, cfg.podCidrV6 || undefined));
    const podCidr = cfg.podCidr || (await this.waitForPodCidr('ipv4'));
    this.ipam = new Ipv4Allocator(podCidr);
    if (cfg.enableIpv6 || cfg.podCidrV6) this.ipam6 = new Ipv6Allocator(cfg.podCidrV6 || (await this.waitForPodCidr('ipv6')));
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
    await this.setupRoutingMode(netns, this.datapath);
    const nodeWatch = this.nodes.watch({
      upsert: (n) => {
        this.clusterNodes.set(n.name, n);
        void routes.upsert(n).catch(() => undefined);
      },
      delete: (name) => {
        this.clusterNodes.delete(name);
        void routes.delete(name).catch(() => undefined);
      },
      synced: () => void routes.pruneStale().catch(() => undefined),
    });
    this.closers.push(() => nodeWatch.close());

    const identities = new IdentityCache();
    const policy = new PolicyStore(identities);
    const monitor = new MonitorHub(() => this.clock.nowNs());
    const store = new StateStore(cfg.stateDir);
    await store.init();
    this.allocator = new IdentityAllocator(this.kv, cfg.nodeName);
    this.closers.push(() => this.allocator?.close());
    this.ipcacheSync = new IPCacheSync(this.kv, cfg.clusterName);
    this.closers.push(() => this.ipcacheSync?.close());

    const metadata = new MetadataHub({
      endpoints: () => endpoints.list().map(endpointToApi),
      identities: () => identities.all().map(([id, labels]) => identityToApi(id, labels, 0)),
      ipcache: () => this.ipcacheEntries(endpoints),
    });
    const datapath = this.datapath;
    const endpoints: EndpointManager = new EndpointManager({
      nodeName: cfg.nodeName,
      nodeIp: cfg.nodeIp,
      nodeIpv6: cfg.nodeIpv6,
      netns,
      datapath,
      identities: this.allocator,
      ipcache: this.ipcacheSync,
      // Diffs carry entries only; enforcement (and the enable-policy mode) comes with compute.
      policy: { compute: (labels) => this.applyMode(policy.compute(labels)), watch: (labels, fn) => policy.watch(labels, fn) },
      store,
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
          metadata.publish('upsert', { endpoint: endpointToApi(ep) });
          for (const entry of localIpcache(ep, cfg)) metadata.publish('upsert', { ipcache: entry });
        },
        deleted: (ep) => {
          monitor.publishAgent(AgentEvent.endpointDeleted, { id: ep.id, labels: ep.labels, pod_name: ep.podName, namespace: ep.namespace });
          metadata.publish('delete', { endpoint: endpointToApi(ep) });
          for (const entry of localIpcache(ep, cfg)) metadata.publish('delete', { ipcache: entry });
        },
        regenerated: (ep, error) =>
          monitor.publishAgent(error ? AgentEvent.regenFailure : AgentEvent.regenSuccess, { id: ep.id, labels: ep.labels, error: error?.message ?? '' }),
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
    const ipw = this.ipcacheSync.watch({
      upsert: (e) => {
        if (e.node === cfg.nodeName) return;
        const cidr = e.ip.includes('/') ? e.ip : `${e.ip}/${e.ip.includes(':') ? 128 : 32}`;
        // The host address is the tunnel's remote end: the node's address of the underlay's family.
        const hostIp = cfg.routingMode === 'tunnel' ? underlayAddress(this.underlay, { ipv4: e.hostIP, ipv6: e.hostIPv6 }) : e.hostIP;
        datapath.ipcacheUpsert(cidr, e.identity, hostIp);
        const entry = agent.IPCacheEntry.fromPartial({ cidr, identity: e.identity, hostIp: e.hostIP ?? '', nodeName: e.node ?? '', namespace: e.namespace ?? '', podName: e.pod ?? '' });
        this.remoteIpcache.set(e.ip, entry);
        metadata.publish('upsert', { ipcache: entry });
      },
      delete: (ip) => {
        const entry = this.remoteIpcache.get(ip);
        if (!entry) return;
        this.remoteIpcache.delete(ip);
        datapath.ipcacheDelete(entry.cidr);
        metadata.publish('delete', { ipcache: entry });
      },
    });
    this.closers.push(() => ipw.close());

    // Restore the policy of a previous run first: restored endpoints keep enforcing it.
    const policyFile = join(cfg.stateDir, 'policy.json');
    try {
      const n = await policy.load(policyFile);
      if (n > 0) log.info('restored policy', { rules: n, revision: policy.revision, file: policyFile });
    } catch (err) {
      throw new Error(`cannot restore the saved policy from ${policyFile}: ${(err as Error).message} (fix or remove the file)`, { cause: err });
    }
    let policySave: Promise<void> = Promise.resolve();
    this.savePolicy = () => (policySave = policySave.catch(() => undefined).then(() => policy.save(policyFile)));

    // Restore endpoints of a previous run, then their IPAM allocations.
    const states = await store.loadAll((file, err) => log.warn('skipping unreadable endpoint state', { file, error: err.message }));
    await this.loadIpam();
    for (const st of states) {
      this.ipam.allocate(st.containerId, st.ipv4);
      if (st.ipv6 && this.ipam6) this.ipam6.allocate(st.containerId, st.ipv6);
    }
    const restored = await endpoints.restore(states);
    if (states.length > 0) log.info('restored endpoints', { restored, found: states.length });
    await this.saveIpam();

    // Datapath events into the monitor hub.
    const reader = datapath.events();
    reader.on('event', (record: Buffer) =>
      monitor.publish({ kind: 'datapath', timeNs: this.clock.toUnixNs(recordKtimeNs(record)), record, type: recordType(record) }),
    );
    reader.on('lost', (count: number) => monitor.publish({ kind: 'lost', timeNs: this.clock.nowNs(), count }));
    reader.on('error', (err: Error) => log.error('datapath event reader failed', { error: err.message }));
    this.closers.push(() => reader.close());

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
      saveIpam: () => this.saveIpam(),
      savePolicy: () => this.savePolicy(),
      status: () => this.status(),
      nodes: {
        localNode: () => this.nodeInfo(this.ipam?.cidr.text, this.ipam6?.cidr.text),
        clusterNodes: () => this.clusterNodes.values(),
      },
      identityReferences: () => {
        const m = new Map<number, number>();
        for (const ep of endpoints.list()) m.set(ep.identity, (m.get(ep.identity) ?? 0) + 1);
        return m;
      },
    };
    this.kv.on('session', () => endpoints.republish());
    this.server = await createServer({
      component: 'agent',
      services: agentServices(core),
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

  /** "native", or "tunnel (IPv4 underlay)" / "tunnel (IPv6 underlay)". */
  private routingDescription(): string {
    return this.cfg.routingMode === 'tunnel' ? `tunnel (${this.underlay === 'ipv6' ? 'IPv6' : 'IPv4'} underlay)` : this.cfg.routingMode;
  }

  private applyMode<T extends { ingressEnforced: boolean; egressEnforced: boolean }>(p: T): T {
    if (this.cfg.enablePolicy === 'never') return { ...p, ingressEnforced: false, egressEnforced: false };
    if (this.cfg.enablePolicy === 'always') return { ...p, ingressEnforced: true, egressEnforced: true };
    return p;
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

  private async connectKvstore(): Promise<KvStore> {
    const deadline = Date.now() + this.cfg.kvstoreConnectTimeout * 1000;
    for (let attempt = 1; ; attempt++) {
      try {
        return await KvStore.connect({
          endpoints: this.cfg.kvstoreEndpoints,
          prefix: this.cfg.kvstorePrefix,
          tls: this.cfg.kvstoreTls,
          sessionTtlSeconds: this.cfg.kvstoreLeaseTtlSeconds ?? DefaultKvstoreLeaseTtlSeconds,
          // Notice an outage and the return of etcd within a second or two.
          healthIntervalMs: 1000,
          log: (level, msg, fields) => this.log[level](msg, { subsys: 'kvstore', ...fields }),
        });
      } catch (err) {
        if (Date.now() > deadline) {
          throw new Error(`cannot reach the kvstore at ${this.cfg.kvstoreEndpoints.join(',')} within ${this.cfg.kvstoreConnectTimeout}s: ${(err as Error).message} (is etcd running? see tools/etcd)`, { cause: err });
        }
        this.log.warn('kvstore not reachable yet; retrying', { attempt, error: (err as Error).message });
        await new Promise((r) => setTimeout(r, Math.min(2000, 200 * attempt)));
      }
    }
  }

  private async waitForPodCidr(family: 'ipv4' | 'ipv6'): Promise<string> {
    const key = family === 'ipv4' ? this.kv!.keys.ipamNode(this.cfg.nodeName) : this.kv!.keys.ipamNodeV6(this.cfg.nodeName);
    this.log.info(`waiting for the operator to assign an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} pod CIDR`, { key });
    for (let i = 0; ; i++) {
      const v = await this.kv!.get(key).catch(() => undefined);
      if (v) return v.trim();
      if (i === 150) {
        const hint = family === 'ipv4' ? 'is cilium-operator running? (or pass --pod-cidr)' : 'is cilium-operator running with --cluster-pool-ipv6-cidr? (or pass --pod-cidr-v6)';
        throw new Error(`no ${family === 'ipv4' ? 'IPv4' : 'IPv6'} pod CIDR assigned to node ${this.cfg.nodeName} after 30s: ${hint}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  private ipamFile(): string {
    return join(this.cfg.stateDir, 'ipam.json');
  }

  private async loadIpam(): Promise<void> {
    try {
      type Saved = { podCidr: string; allocations: Array<{ ip: string; owner: string }>; podCidrV6?: string; allocationsV6?: Array<{ ip: string; owner: string }> };
      const saved = JSON.parse(await readFile(this.ipamFile(), 'utf8')) as Saved;
      const pools: Array<[Ipv4Allocator | Ipv6Allocator | undefined, string | undefined, Saved['allocations'] | undefined]> = [
        [this.ipam, saved.podCidr, saved.allocations],
        [this.ipam6, saved.podCidrV6, saved.allocationsV6],
      ];
      for (const [pool, cidr, allocations] of pools) {
        if (!pool || cidr !== pool.cidr.text) continue;
        for (const a of allocations ?? []) {
          try {
            pool.allocate(a.owner, a.ip);
          } catch (err) {
            this.log.warn('dropping saved IPAM allocation', { ip: a.ip, error: (err as Error).message });
          }
        }
      }
    } catch {
      // no saved state
    }
  }

  /**
   * Saves the IPAM allocations. Saves run one after the other: concurrent Allocate and
   * Release calls (parallel CNI ADD/DEL) would otherwise race on the temporary file.
   */
  private saveIpam(): Promise<void> {
    const run = this.ipamSaves.then(
      () => this.writeIpam(),
      () => this.writeIpam(),
    );
    this.ipamSaves = run.catch(() => undefined);
    return run;
  }

  private async writeIpam(): Promise<void> {
    if (!this.ipam) return;
    await mkdir(this.cfg.stateDir, { recursive: true });
    const tmp = `${this.ipamFile()}.tmp-${process.pid}`;
    const v6 = this.ipam6 ? { podCidrV6: this.ipam6.cidr.text, allocationsV6: this.ipam6.list() } : {};
    await writeFile(tmp, JSON.stringify({ podCidr: this.ipam.cidr.text, allocations: this.ipam.list(), ...v6 }, null, 2) + '\n');
    await rename(tmp, this.ipamFile());
  }

  private ipcacheEntries(endpoints: EndpointManager): agent.IPCacheEntry[] {
    return [...endpoints.list().flatMap((ep) => localIpcache(ep, this.cfg)), ...this.remoteIpcache.values()];
  }

  private ipamMessage(): string {
    if (!this.ipam) return 'no pod CIDR yet';
    const v4 = `${this.ipam.cidr.text}, ${this.ipam.available} addresses free`;
    if (!this.ipam6) return this.cfg.enableIpv6 ? `${v4}; no IPv6 pod CIDR yet` : v4;
    const free = this.ipam6.available === 0xffffffff ? 'more than 4294967294' : String(this.ipam6.available);
    return `${v4}; ${this.ipam6.cidr.text}, ${free} addresses free`;
  }

  // Why the kvstore is degraded (or that it is fine), with what waits for it.
  private kvstoreMessage(): string {
    const kv = this.kv;
    if (!kv) return 'not connected';
    const st = kv.status();
    const parts = [`${this.cfg.kvstoreEndpoints.join(',')}: ${st.message}`];
    if (!st.connected) {
      const ms = kv.outageMs();
      if (ms !== undefined) parts.push(`for ${Math.round(ms / 1000)}s`);
      if (st.lastError) parts.push(`last error: ${st.lastError}`);
      parts.push('existing endpoints keep their connectivity and policy; only pods whose identity is already known can be created');
    }
    const p = this.allocator?.pending();
    const ip = this.ipcacheSync?.pending ?? 0;
    if (p && p.unclaimed + p.releases + ip > 0) {
      parts.push(`waiting for etcd: ${p.unclaimed} identity reference(s) to claim, ${p.releases} to release, ${ip} ipcache write(s)`);
    }
    return parts.join('; ');
  }

  private status(): { state: string; subsystems: agent.SubsystemStatus[]; kernelFeatures: agent.KernelFeature[] } {
    const kv = this.kv?.status();
    const subsystems = [
      { name: 'kvstore', state: kv?.connected ? 'ok' : 'degraded', message: this.kvstoreMessage() },
      { name: 'datapath', state: this.datapath ? 'ok' : 'failure', message: this.datapath ? `pinned at ${this.cfg.bpfPinDir}` : 'not loaded' },
      { name: 'routing', state: this.routes ? 'ok' : 'degraded', message: this.routes ? `${this.routingDescription()}: ${this.routes.list().length} route(s) to other nodes` : 'not set up yet' },
      { name: 'ipam', state: this.ipam ? 'ok' : 'degraded', message: this.ipamMessage() },
    ].map((s) => agent.SubsystemStatus.fromPartial(s));
    const rank = { ok: 0, degraded: 1, failure: 2 } as Record<string, number>;
    const worst = subsystems.reduce((w, s) => (rank[s.state]! > rank[w]! ? s.state : w), 'ok');
    return { state: worst, subsystems, kernelFeatures: this.features.map((f) => agent.KernelFeature.fromPartial(f)) };
  }
}

/** The ipcache entries of a local endpoint: its IPv4 address and, when dual-stack, its IPv6 one. */
function localIpcache(ep: Endpoint, cfg: AgentConfig): agent.IPCacheEntry[] {
  const cidrs = [`${ep.ipv4}/32`, ...(ep.ipv6 ? [`${ep.ipv6}/128`] : [])];
  return cidrs.map((cidr) => agent.IPCacheEntry.fromPartial({ cidr, identity: ep.identity, hostIp: cfg.nodeIp, nodeName: cfg.nodeName, namespace: ep.namespace, podName: ep.podName }));
}
