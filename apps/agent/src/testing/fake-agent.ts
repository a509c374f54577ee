// The one fake cilium-agent for other projects' tests (@cilium-ts/agent/testing): a real
// gRPC server on a unix socket serving cilium.agent.v1 Daemon, Endpoints, Ipam, Policy,
// Identities, Monitor and Metadata. IPAM is the agent's own allocators, Policy is
// @cilium-ts/policy's Repository (import/get/delete round-trip real rules); the rest is
// state the test sets and inspects. Monitor and Metadata streams stay open for the test to
// push records and metadata, unless `endMonitorAfterReplay` makes Monitor a one-shot.
import { Metadata, Server, ServerCredentials, status, type ServerWritableStream, type ServiceError } from '@grpc/grpc-js';
import { agent, timestampFromNanos, type Timestamp } from '@cilium-ts/api';
import { recordType } from '@cilium-ts/bpf/events';
import { PolicyValidationError, Repository, parsePolicyDocument } from '@cilium-ts/policy';
import { IpamError, type AddressPool } from '../address-pool.js';
import { Ipv4Allocator, numberToIpv4 } from '../ipam.js';
import { bigIntToIpv6, Ipv6Allocator } from '../ipam-v6.js';

/** Records per batch the fake agent's blast sends to subscribers that asked for batches. */
export const FAKE_BATCH_RECORDS = 256;

/** The metadata snapshot the fake agent sends on every Metadata.Watch before SYNCED. */
export interface FakeAgentSnapshot {
  endpoints?: agent.DeepPartial<agent.Endpoint>[];
  identities?: { id: number; labels: string[] }[];
  ipcache?: agent.DeepPartial<agent.IPCacheEntry>[];
  /** The cluster's nodes (peers of hubble-server). */
  nodes?: agent.DeepPartial<agent.Node>[];
}

/** How the fake agent starts; every field has a default. */
export interface FakeAgentOptions {
  /** Metadata.Watch's snapshot (default: empty, SYNCED at once). */
  snapshot?: FakeAgentSnapshot;
  /** Daemon.Status fields (default: node fake-node, state ok); endpointCount, policyRevision and podCidr are the fake's own. */
  status?: agent.DeepPartial<agent.StatusResponse>;
  /** Daemon.GetConfig options (default: none). */
  config?: Record<string, string>;
  /** The IPv4 pod CIDR Ipam hands out from (default 10.200.0.0/24, router .1). */
  podCidr?: string;
  /** The IPv6 pod CIDR Ipam hands out from when `ipv6Pool` is on (default fd00:10:200::/120). */
  podCidrV6?: string;
  /** Endpoints the agent has at start; their addresses are allocated to their container ids. */
  endpoints?: agent.Endpoint[];
  /** Identities.List / Get. */
  identities?: agent.Identity[];
}

function fail(code: status, details: string): ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: undefined as never });
}

function batchEvent(records: readonly Buffer[], timesNs: readonly bigint[], nodeName: string): agent.MonitorEvent {
  return agent.MonitorEvent.fromPartial({ time: timestampFromNanos(timesNs[0] ?? 0n), nodeName, batch: { records: [...records], timeNs: [...timesNs] } });
}

function configOf(ep: agent.Endpoint): agent.EndpointConfig {
  return { id: ep.id, options: Object.entries(ep.options).map(([name, value]) => ({ name, value, description: 'Emit datapath debug records for this endpoint' })) };
}

type MonitorCall = ServerWritableStream<agent.MonitorRequest, agent.MonitorEvent>;
type WatchCall = ServerWritableStream<agent.MetadataWatchRequest, agent.MetadataEvent>;

/** A running fake agent: what tests may change or inspect, and what they push. */
export class FakeAgent {
  /** Policy, as the agent's repository. */
  readonly repo = new Repository();
  /** containerId -> endpoint. */
  readonly endpoints = new Map<string, agent.Endpoint>();
  /** Identities.List / Get answer from this list. */
  identities: agent.Identity[];
  /** Events every Monitor.Listen subscriber gets first (filtered by its request's types and agentEvents). */
  monitorEvents: agent.MonitorEvent[] = [];
  /** When true Monitor.Listen ends the stream after `monitorEvents` (a one-shot agent); otherwise it stays open for send*. */
  endMonitorAfterReplay = false;
  /** The last MonitorRequest received. */
  lastMonitorRequest: agent.MonitorRequest | undefined;
  /** The last PolicyImportRequest received. */
  lastImport: agent.PolicyImportRequest | undefined;
  /** The traceparent metadata of the last Status call, if any. */
  lastTraceparent: string | undefined;
  /** Every CreateEndpoint request, in order. */
  readonly createRequests: agent.CreateEndpointRequest[] = [];
  /** When set, CreateEndpoint fails with this message (INTERNAL). */
  failCreate: string | undefined;
  /** Whether the node is dual-stack: Allocate(ipv6) hands out addresses instead of FAILED_PRECONDITION. */
  ipv6Pool = false;

  private readonly monitors = new Set<MonitorCall>();
  private readonly metadataWatchers = new Set<WatchCall>();
  private readonly ipv4: Ipv4Allocator;
  private readonly ipv6: Ipv6Allocator;
  private nextId = 1;

  private constructor(
    private readonly server: Server,
    /** gRPC target: unix:///path. */
    readonly target: string,
    private readonly options: FakeAgentOptions,
  ) {
    this.ipv4 = new Ipv4Allocator(options.podCidr ?? '10.200.0.0/24');
    this.ipv6 = new Ipv6Allocator(options.podCidrV6 ?? 'fd00:10:200::/120');
    this.identities = options.identities ?? [];
    for (const ep of options.endpoints ?? []) {
      this.endpoints.set(ep.containerId, ep);
      if (ep.ipv4) this.ipv4.allocate(ep.containerId, ep.ipv4);
      if (ep.ipv6) this.ipv6.allocate(ep.containerId, ep.ipv6);
      this.nextId = Math.max(this.nextId, ep.id + 1);
    }
  }

  /** Starts a fake agent serving on the unix socket `socketPath`. */
  static async start(socketPath: string, options: FakeAgentOptions = {}): Promise<FakeAgent> {
    const server = new Server();
    const fake = new FakeAgent(server, `unix://${socketPath}`, options);
    server.addService(agent.DaemonService, fake.daemon());
    server.addService(agent.EndpointsService, fake.endpointsService());
    server.addService(agent.IpamService, fake.ipam());
    server.addService(agent.PolicyService, fake.policy());
    server.addService(agent.IdentitiesService, fake.identitiesService());
    server.addService(agent.MonitorService, fake.monitor());
    server.addService(agent.MetadataService, fake.metadata());
    await new Promise<void>((resolve, reject) => server.bindAsync(fake.target, ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
    return fake;
  }

  /** Current IPAM allocations of both families: address -> owner. */
  get allocations(): Map<string, string> {
    return new Map([...this.ipv4.list(), ...this.ipv6.list()].map((a) => [a.ip, a.owner]));
  }

  /** Number of Monitor.Listen subscribers. */
  get subscribers(): number {
    return this.monitors.size;
  }

  /** Number of Monitor.Listen subscribers that asked for batches. */
  get batchingSubscribers(): number {
    return [...this.monitors].filter((c) => c.request.batch).length;
  }

  /** Metadata Watch streams open now (each got the snapshot). */
  get watchers(): number {
    return this.metadataWatchers.size;
  }

  /** Sends a datapath record to every Monitor subscriber, stamped with `timeNs` (ns since the epoch). */
  sendRecord(record: Buffer, timeNs: bigint, nodeName = ''): void {
    this.send(agent.MonitorEvent.fromPartial({ time: timestampFromNanos(timeNs), nodeName, datapath: record }));
  }

  /** Sends any MonitorEvent to every Monitor subscriber. */
  send(event: agent.MonitorEvent): void {
    for (const call of this.monitors) call.write(event);
  }

  /**
   * Sends datapath records with their stamps as one batch (MonitorEvent.batch) to every
   * subscriber that asked for batches, and one message per record to the others.
   */
  sendBatch(records: readonly Buffer[], timesNs: readonly bigint[], nodeName = ''): void {
    const batch = batchEvent(records, timesNs, nodeName);
    for (const call of this.monitors) {
      if (call.request.batch) call.write(batch);
      else for (let i = 0; i < records.length; i++) call.write(agent.MonitorEvent.fromPartial({ time: timestampFromNanos(timesNs[i]!), nodeName, datapath: records[i] }));
    }
  }

  /**
   * Sends `count` datapath records (cycling through `records`) to every Monitor subscriber as
   * fast as their streams accept them (waits for 'drain' when a write is refused), each
   * stamped with `stamp()` at send time. Subscribers that asked for batches get them as a
   * batching agent under load would: full batches of FAKE_BATCH_RECORDS (the last one
   * shorter). Resolves when all are written.
   */
  async blast(records: readonly Buffer[], count: number, stamp: () => bigint): Promise<void> {
    const calls = [...this.monitors];
    for (let i = 0; i < count; ) {
      const n = Math.min(FAKE_BATCH_RECORDS, count - i);
      const chunk: Buffer[] = [];
      const times: bigint[] = [];
      for (let j = 0; j < n; j++) {
        chunk.push(records[(i + j) % records.length]!);
        times.push(stamp());
      }
      i += n;
      let batch: agent.MonitorEvent | undefined;
      for (const call of calls) {
        if (call.writableEnded || call.destroyed) continue;
        if (call.request.batch) {
          batch ??= batchEvent(chunk, times, '');
          if (!call.write(batch)) await new Promise<void>((resolve) => call.once('drain', () => resolve()));
          continue;
        }
        for (let j = 0; j < n; j++) {
          const event = agent.MonitorEvent.fromPartial({ time: timestampFromNanos(times[j]!), datapath: chunk[j] });
          if (!call.write(event)) await new Promise<void>((resolve) => call.once('drain', () => resolve()));
        }
      }
    }
  }

  /** Sends a Metadata event (an upsert or delete of one item) to every Watch subscriber. */
  sendMetadata(event: agent.DeepPartial<agent.MetadataEvent>): void {
    for (const call of this.metadataWatchers) call.write(agent.MetadataEvent.fromPartial(event));
  }

  /** Sends an agent event to every Monitor subscriber. */
  sendAgentEvent(type: number, json: string, time: Timestamp): void {
    this.send(agent.MonitorEvent.fromPartial({ time, agent: { type, json } }));
  }

  /** Stops at once, cutting open streams (as an agent crash or restart would). */
  stop(): void {
    this.server.forceShutdown();
    this.monitors.clear();
    this.metadataWatchers.clear();
  }

  /**
   * The lowest free address of a family's pool among its first 256 (tests expect base+2 first
   * and a released address to come back; the agent itself hands out round robin).
   */
  private lowestFree(v6: boolean): string | undefined {
    const pool = v6 ? this.ipv6 : this.ipv4;
    const base = v6 ? this.ipv6.cidr.base : BigInt(this.ipv4.cidr.base);
    for (let i = 2n; i < 256n; i++) {
      const ip = v6 ? bigIntToIpv6(base + i) : numberToIpv4(Number(base + i));
      if (pool.ownerOf(ip) === undefined) return ip;
    }
    return undefined;
  }

  private endpointById(id: number): agent.Endpoint | undefined {
    return [...this.endpoints.values()].find((e) => e.id === id);
  }

  private daemon(): agent.DaemonServer {
    return {
      getConfig: (_call, cb) => cb(null, { options: { ...this.options.config } }),
      status: (call, cb) => {
        this.lastTraceparent = call.metadata.get('traceparent')[0]?.toString();
        cb(null, agent.StatusResponse.fromPartial({
          nodeName: 'fake-node',
          clusterName: 'default',
          version: 'fake',
          state: 'ok',
          ...this.options.status,
          endpointCount: this.endpoints.size,
          policyRevision: BigInt(this.repo.revision),
          podCidr: this.ipv4.cidr.text,
        }));
      },
    };
  }

  private endpointsService(): agent.EndpointsServer {
    return {
      createEndpoint: (call, cb) => {
        const r = call.request;
        this.createRequests.push(r);
        if (this.failCreate !== undefined) return cb(fail(status.INTERNAL, this.failCreate));
        const { containerId, netns, ifname, hostIfname, ipv4, ipv6, mac, labels, podName, namespace } = r;
        const ep: agent.Endpoint = { ...agent.Endpoint.create(), id: this.nextId++, containerId, netns, ifname, hostIfname, ipv4, ipv6, mac, labels, podName, namespace, identity: 256, state: 'ready' };
        this.endpoints.set(r.containerId, ep);
        cb(null, ep);
      },
      deleteEndpoint: (call, cb) => cb(null, { found: this.endpoints.delete(call.request.containerId) }),
      getEndpoint: (call, cb) => {
        const { id, containerId } = call.request;
        const ep = id !== 0 ? this.endpointById(id) : this.endpoints.get(containerId);
        if (ep) cb(null, ep);
        else cb(fail(status.NOT_FOUND, id !== 0 ? `endpoint ${id} not found` : `no endpoint for container ${containerId}`));
      },
      listEndpoints: (_call, cb) => cb(null, { endpoints: [...this.endpoints.values()] }),
      // Options as the agent keeps them: Debug only, true/false, all or nothing.
      getEndpointConfig: (call, cb) => {
        const ep = this.endpointById(call.request.id);
        if (ep) cb(null, configOf(ep));
        else cb(fail(status.NOT_FOUND, `endpoint ${call.request.id} not found`));
      },
      patchEndpointConfig: (call, cb) => {
        const ep = this.endpointById(call.request.id);
        if (!ep) return cb(fail(status.NOT_FOUND, `endpoint ${call.request.id} not found`));
        for (const [name, value] of Object.entries(call.request.options)) {
          if (name !== 'Debug') return cb(fail(status.INVALID_ARGUMENT, `endpoint option ${name}: unknown option; known options: Debug`));
          if (value !== 'true' && value !== 'false') return cb(fail(status.INVALID_ARGUMENT, `endpoint option ${name}=${value}: not a valid value; use true or false`));
        }
        for (const [name, value] of Object.entries(call.request.options)) ep.options[name] = value === 'true' ? 'Enabled' : 'Disabled';
        cb(null, configOf(ep));
      },
    };
  }

  private ipam(): agent.IpamServer {
    const pools = (): AddressPool[] => [this.ipv4, this.ipv6];
    return {
      allocate: (call, cb) => {
        const v6 = call.request.family === 'ipv6';
        if (v6 && !this.ipv6Pool) return cb(fail(status.FAILED_PRECONDITION, 'node runs IPv4 only'));
        try {
          const pool = v6 ? this.ipv6 : this.ipv4;
          const ip = pool.allocate(call.request.owner, pool.available > 0 ? this.lowestFree(v6) : undefined);
          const cidr = v6 ? this.ipv6.cidr : this.ipv4.cidr;
          cb(null, { ip, prefixLength: cidr.prefixLength, gateway: (v6 ? this.ipv6 : this.ipv4).router, podCidr: cidr.text });
        } catch (err) {
          cb(fail(err instanceof IpamError && err.code === 'exhausted' ? status.RESOURCE_EXHAUSTED : status.INVALID_ARGUMENT, (err as Error).message));
        }
      },
      // As the agent: the owner is required; with an ip only that address, and only when it is the owner's.
      release: (call, cb) => {
        const { ip, owner } = call.request;
        if (owner === '') return cb(fail(status.INVALID_ARGUMENT, 'owner is required'));
        const cur = ip !== '' ? this.allocations.get(ip) : undefined;
        if (cur !== undefined && cur !== owner) return cb(fail(status.INVALID_ARGUMENT, `${ip} is allocated to owner "${cur}", not to "${owner}"`));
        let released = 0;
        for (const pool of pools()) {
          for (const a of pool.list()) {
            if (a.owner === owner && (ip === '' || a.ip === ip) && pool.release(a.ip)) released++;
          }
        }
        cb(null, { released });
      },
      list: (_call, cb) =>
        cb(null, agent.IpamListResponse.fromPartial({
          podCidr: this.ipv4.cidr.text,
          allocations: [...this.allocations].map(([ip, owner]) => ({ ip, owner })),
          available: this.ipv4.available,
        })),
    };
  }

  private policy(): agent.PolicyServer {
    return {
      import: (call, cb) => {
        this.lastImport = call.request;
        try {
          const rules = parsePolicyDocument(call.request.document, call.request.source);
          const revision = this.repo.add(rules, { replaceWithLabels: call.request.replaceWithLabels });
          cb(null, { revision: BigInt(revision), ruleCount: rules.length });
        } catch (err) {
          if (err instanceof PolicyValidationError) cb(fail(status.INVALID_ARGUMENT, err.message));
          else cb(fail(status.INTERNAL, (err as Error).message));
        }
      },
      get: (call, cb) => {
        const rules = this.repo.get(call.request.labels);
        cb(null, { policyJson: JSON.stringify(rules), revision: BigInt(this.repo.revision), ruleCount: rules.length });
      },
      delete: (call, cb) => {
        try {
          const r = call.request.all ? this.repo.deleteAll() : this.repo.deleteByLabels(call.request.labels);
          cb(null, { revision: BigInt(r.revision), deleted: r.deleted });
        } catch (err) {
          cb(fail(status.INVALID_ARGUMENT, (err as Error).message));
        }
      },
      validate: (_call, cb) => cb(fail(status.UNIMPLEMENTED, 'not in the fake')),
      // The fake's repository revision is the enforced one: a later revision never comes.
      wait: (call, cb) => {
        const cur = BigInt(this.repo.revision);
        if (call.request.revision <= cur) return cb(null, { revision: cur });
        setTimeout(() => cb(fail(status.DEADLINE_EXCEEDED, `policy revision ${call.request.revision} is not enforced on this node after ${call.request.timeoutMs} ms: it enforces revision ${cur}`)), call.request.timeoutMs);
      },
    };
  }

  private identitiesService(): agent.IdentitiesServer {
    return {
      listIdentities: (_call, cb) => cb(null, { identities: this.identities }),
      getIdentity: (call, cb) => {
        const id = this.identities.find((i) => i.id === call.request.id);
        if (id) cb(null, id);
        else cb(fail(status.NOT_FOUND, `identity ${call.request.id} not found`));
      },
    };
  }

  private monitor(): agent.MonitorServer {
    return {
      listen: (call) => {
        const req = call.request;
        this.lastMonitorRequest = req;
        call.sendMetadata(new Metadata());
        for (const ev of this.monitorEvents) {
          if (ev.datapath !== undefined && req.types.length > 0 && !req.types.includes(recordType(ev.datapath))) continue;
          if (ev.agent !== undefined && !req.agentEvents) continue;
          call.write(ev);
        }
        if (this.endMonitorAfterReplay) return call.end();
        this.monitors.add(call);
        call.on('cancelled', () => this.monitors.delete(call));
        call.on('close', () => this.monitors.delete(call));
      },
    };
  }

  private metadata(): agent.MetadataServer {
    return {
      watch: (call) => {
        this.metadataWatchers.add(call);
        call.on('cancelled', () => this.metadataWatchers.delete(call));
        call.on('close', () => this.metadataWatchers.delete(call));
        const snapshot = this.options.snapshot ?? {};
        for (const endpoint of snapshot.endpoints ?? []) call.write(agent.MetadataEvent.fromPartial({ kind: 0, endpoint }));
        for (const identity of snapshot.identities ?? []) call.write(agent.MetadataEvent.fromPartial({ kind: 0, identity }));
        for (const ipcache of snapshot.ipcache ?? []) call.write(agent.MetadataEvent.fromPartial({ kind: 0, ipcache }));
        for (const node of snapshot.nodes ?? []) call.write(agent.MetadataEvent.fromPartial({ kind: 0, node }));
        call.write(agent.MetadataEvent.fromPartial({ kind: agent.MetadataEvent_Kind.SYNCED }));
      },
    };
  }
}
