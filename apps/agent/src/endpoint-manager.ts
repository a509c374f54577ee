/**
 * Owns this node's endpoints: creation (identity, policy, datapath, ipcache, state
 * file — in that order, undone in reverse on failure), deletion, restore after a
 * restart, and regeneration when policy or identities change.
 */
import { LabelParseError, parseLabel } from '@cilium-ts/policy';
import type { DatapathPort, EndpointPolicy, IdentityPort, IPCachePublisher, PolicyComputer } from './deps.js';
import { applyEndpointOptionChanges, defaultEndpointOptions, restoreEndpointOptions, type EndpointOptions } from './endpoint-options.js';
import { EndpointStatusLog } from './endpoint-status-log.js';
import type { NodeNetns } from './netns.js';
import { InitIdentity, InitLabel, isInitLabels } from './runtime-labels.js';
import type { EndpointState, StateStore } from './state-store.js';

/** A request to create an endpoint was invalid; `field` names the offending field. */
export class EndpointRequestError extends Error {
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(`${field}: ${reason}`);
    this.name = 'EndpointRequestError';
  }
}

/** An endpoint that does not exist was asked for. */
export class EndpointNotFoundError extends Error {
  constructor(what: string) {
    super(`endpoint ${what} not found`);
    this.name = 'EndpointNotFoundError';
  }
}

/** The agent's view of one endpoint. */
export interface Endpoint extends EndpointState {
  state: 'waiting-for-identity' | 'regenerating' | 'ready' | 'disconnecting';
  policy: EndpointPolicy;
  options: EndpointOptions;
}

/** What CreateEndpoint receives. */
export interface CreateEndpointInput {
  containerId: string;
  netns: string;
  ifname: string;
  hostIfname: string;
  ipv4: string;
  ipv6: string;
  labels: string[];
  podName: string;
  namespace: string;
  mac: string;
  /** The container runtime that attaches the endpoint ("podman", "docker"); absent or '' when not known. */
  runtime?: string;
}

/** Observers of endpoint lifecycle (monitor and metadata hubs). */
export interface EndpointEvents {
  created(ep: Endpoint): void;
  deleted(ep: Endpoint): void;
  /** After a regeneration; durationMs is how long this endpoint's took. */
  regenerated(ep: Endpoint, error?: Error, durationMs?: number): void;
  /** The endpoint's labels and identity changed (cilium endpoint labels, labels from its runtime). */
  relabeled?(ep: Endpoint): void;
}

/** Dependencies of the manager. */
export interface EndpointManagerDeps {
  nodeName: string;
  nodeIp: string;
  /** This node's IPv6 address, published beside nodeIp in the cluster ipcache (empty: none). */
  nodeIpv6?: string;
  netns: NodeNetns;
  datapath: DatapathPort;
  identities: IdentityPort;
  ipcache: IPCachePublisher;
  policy: PolicyComputer;
  store: StateStore;
  events: EndpointEvents;
  /**
   * True when the labels of containers of this runtime come from the runtime after ADD
   * (runtime-labels.ts): such endpoints start as reserved:init, state waiting-for-identity,
   * until setRuntimeLabels. Absent: never.
   */
  labelsFromRuntime?: (runtime: string) => boolean;
  /** Makes an identity known locally at once; returns true if it was new (peers' policies must then be recomputed). */
  learnIdentity: (id: number, labels: string[]) => boolean;
  log: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
  now: () => bigint;
}

const NAMESPACE_LABEL = 'k8s:io.kubernetes.pod.namespace=';
const LABEL_RE = /^[a-z0-9-]+:[A-Za-z0-9._\-/]+(=[A-Za-z0-9._\-/]*)?$/;
const IFNAME_RE = /^[A-Za-z0-9_.-]{1,15}$/;
const MAX_ENDPOINT_ID = 65535;

/** Manages endpoints; serialises every mutation through one queue. */
export class EndpointManager {
  private readonly byId = new Map<number, Endpoint>();
  private queue: Promise<unknown> = Promise.resolve();
  private regenPending = false;
  /** Per endpoint: stops following its policy diffs. */
  private readonly unwatch = new Map<number, () => void>();
  /** Endpoints being (re)attached: true once a diff arrived meanwhile. */
  private readonly attaching = new Map<number, boolean>();
  /** Every endpoint's status log (cilium endpoint log). */
  readonly statusLog = new EndpointStatusLog();

  constructor(private readonly d: EndpointManagerDeps) {}

  /** True when policy diffs flow straight into the policy maps (identity changes then need no regeneration). */
  get followsPolicyDiffs(): boolean {
    return this.d.policy.watch !== undefined && this.d.datapath.applyPolicyDiff !== undefined;
  }

  /**
   * Attaches ep with ep.policy and from then on writes every diff of its policy straight
   * into its policy map (the one-way path). A diff that arrives while the attach is under
   * way (which writes the list computed before it) is caught up right after it with a
   * resync to the policy as it is then; the enforcement of that catch-up is left to the
   * next regeneration (which compares with ep.policy's).
   */
  private async attachFollowing(ep: Endpoint): Promise<void> {
    const { watch } = this.d.policy;
    const apply = this.d.datapath.applyPolicyDiff?.bind(this.d.datapath);
    if (watch && apply && !this.unwatch.has(ep.id)) {
      this.unwatch.set(ep.id, watch.call(this.d.policy, ep.labels, (diff) => {
        if (ep.state === 'disconnecting') return;
        if (this.attaching.has(ep.id)) {
          this.attaching.set(ep.id, true);
          return;
        }
        try {
          apply(ep.id, diff);
          ep.policy = { ...ep.policy, revision: diff.revision };
        } catch (err) {
          this.d.log('error', 'policy diff failed; regenerating', { endpointID: ep.id, error: (err as Error).message });
          void this.regenerateAll('policy diff failed');
        }
      }));
    }
    this.attaching.set(ep.id, false);
    try {
      await this.d.datapath.attachEndpoint(this.datapathSpec(ep), ep.policy.entries);
      if (this.attaching.get(ep.id)) {
        const now = this.d.policy.compute(ep.labels);
        this.d.datapath.updatePolicy(ep.id, now.entries);
        ep.policy = { ...now, ingressEnforced: ep.policy.ingressEnforced, egressEnforced: ep.policy.egressEnforced };
      }
    } finally {
      this.attaching.delete(ep.id);
    }
  }

  private stopFollowing(id: number): void {
    this.unwatch.get(id)?.();
    this.unwatch.delete(id);
  }

  /** All endpoints, ordered by id. */
  list(): Endpoint[] {
    return [...this.byId.values()].sort((a, b) => a.id - b.id);
  }

  /** One endpoint by id or container id. */
  get(q: { id?: number; containerId?: string }): Endpoint | undefined {
    if (q.id) return this.byId.get(q.id);
    if (q.containerId) return [...this.byId.values()].find((e) => e.containerId === q.containerId);
    return undefined;
  }

  /** Endpoint owning an IPv4 address. */
  byIp(ip: string): Endpoint | undefined {
    return [...this.byId.values()].find((e) => e.ipv4 === ip || e.ipv6 === ip);
  }

  /** Runs `fn` after every mutation queued before it. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn, fn);
    this.queue = p.catch(() => undefined);
    return p;
  }

  /** Creates an endpoint and returns once its policy is in the kernel. */
  async create(input: CreateEndpointInput): Promise<Endpoint> {
    validateCreate(input);
    return this.serial(() => this.doCreate(input));
  }

  private async doCreate(input: CreateEndpointInput): Promise<Endpoint> {
    const existing = this.get({ containerId: input.containerId });
    if (existing) {
      if (existing.hostIfname === input.hostIfname && existing.ipv4 === input.ipv4) return existing;
      throw new EndpointRequestError('container_id', `container ${input.containerId} already has endpoint ${existing.id} with another interface or address; delete it first`);
    }
    const clash = this.byIp(input.ipv4);
    if (clash) throw new EndpointRequestError('ipv4', `${input.ipv4} is already used by endpoint ${clash.id}`);
    const link = await this.d.netns.link(input.hostIfname);
    if (!link) throw new EndpointRequestError('host_ifname', `interface ${input.hostIfname} does not exist in the node namespace`);

    const id = this.nextId();
    const requested = [...new Set(input.labels)].sort();
    // Labels the runtime gives later: the endpoint is reserved:init (fail-closed) until then.
    const waiting = !!input.runtime && (this.d.labelsFromRuntime?.(input.runtime) ?? false);
    const labels = waiting ? [InitLabel] : requested;
    const undo: Array<() => Promise<void>> = [];
    try {
      const identity = await this.allocateIdentity(labels);
      undo.push(() => this.releaseIdentity(labels));
      // Peers whose policy selects these labels must know the identity before this pod sends.
      // With policy diffs flowing into the maps, learning the identity has already updated them.
      if (this.d.learnIdentity(identity, labels) && !this.followsPolicyDiffs) await this.regenerateInline('new identity');
      const ep: Endpoint = {
        id,
        containerId: input.containerId,
        netns: input.netns,
        ifname: input.ifname,
        hostIfname: input.hostIfname,
        hostIfindex: link.ifindex,
        ipv4: input.ipv4,
        ipv6: input.ipv6,
        mac: input.mac,
        hostMac: link.address,
        labels,
        identity,
        podName: input.podName,
        namespace: input.namespace,
        ...(input.runtime ? { runtime: input.runtime } : {}),
        ...(waiting ? { pendingLabels: requested } : {}),
        createdAtNs: this.d.now().toString(),
        state: 'regenerating',
        policy: this.d.policy.compute(labels),
        options: defaultEndpointOptions(),
      };
      // The endpoint's own address must resolve to its identity before its programs run.
      for (const cidr of endpointCidrs(ep)) {
        this.d.datapath.ipcacheUpsert(cidr, identity, this.d.nodeIp);
        undo.push(async () => this.d.datapath.ipcacheDelete(cidr));
      }
      undo.push(async () => this.stopFollowing(id));
      await this.attachFollowing(ep);
      undo.push(() => this.d.datapath.detachEndpoint({ id, hostIfname: ep.hostIfname, netns: this.d.netns.path }));
      this.applyOptions(ep);
      await this.d.store.save(toState(ep));
      undo.push(() => this.d.store.remove(id));
      ep.state = waiting ? 'waiting-for-identity' : 'ready';
      this.byId.set(id, ep);
      this.publishIpcache(ep);
      this.d.log('info', 'endpoint created', { endpointID: id, containerID: ep.containerId, identity, ipv4: ep.ipv4 });
      this.statusLog.record(id, 'OK', ep.state, `Endpoint created with identity ${identity}, policy revision ${ep.policy.revision}`);
      this.d.events.created(ep);
      return ep;
    } catch (err) {
      for (const u of undo.reverse()) {
        await u().catch((e: Error) => this.d.log('warn', 'rollback step failed', { endpointID: id, error: e.message }));
      }
      throw err;
    }
  }

  /** Deletes an endpoint; returns whether it existed. Idempotent. */
  delete(q: { id?: number; containerId?: string }): Promise<boolean> {
    return this.serial(async () => {
      const ep = this.get(q);
      if (!ep) return false;
      ep.state = 'disconnecting';
      this.stopFollowing(ep.id);
      await this.d.datapath.detachEndpoint({ id: ep.id, hostIfname: ep.hostIfname, netns: this.d.netns.path });
      for (const cidr of endpointCidrs(ep)) this.d.datapath.ipcacheDelete(cidr);
      for (const ip of endpointIps(ep)) await this.d.ipcache.delete(ip).catch((e: Error) => this.d.log('warn', 'ipcache delete failed', { error: e.message }));
      await this.releaseIdentity(ep.labels).catch((e: Error) => this.d.log('warn', 'identity release failed', { error: e.message }));
      await this.d.store.remove(ep.id);
      this.byId.delete(ep.id);
      this.d.log('info', 'endpoint deleted', { endpointID: ep.id, containerID: ep.containerId });
      this.statusLog.drop(ep.id);
      this.d.events.deleted(ep);
      return true;
    });
  }

  /**
   * Restores endpoints from the state directory after a restart. Programs and maps stay
   * pinned while the agent is down, so traffic keeps its last policy; restore re-takes
   * the identity references and re-applies the current policy without detaching.
   * Endpoints whose interface is gone are removed.
   */
  restore(states: EndpointState[]): Promise<number> {
    return this.serial(async () => {
      let n = 0;
      for (const st of states) {
        const link = await this.d.netns.link(st.hostIfname);
        if (!link) {
          this.d.log('warn', 'endpoint interface gone, removing its state', { endpointID: st.id, ifname: st.hostIfname });
          await this.d.datapath.detachEndpoint({ id: st.id, hostIfname: st.hostIfname, netns: this.d.netns.path }).catch(() => undefined);
          for (const cidr of endpointCidrs(st)) this.d.datapath.ipcacheDelete(cidr);
          await this.d.store.remove(st.id);
          continue;
        }
        try {
          const identity = await this.allocateIdentity(st.labels);
          this.d.learnIdentity(identity, st.labels);
          const options = restoreEndpointOptions(st.options);
          const ep: Endpoint = { ...st, hostIfindex: link.ifindex, identity, state: 'regenerating', policy: this.d.policy.compute(st.labels), options };
          for (const cidr of endpointCidrs(ep)) this.d.datapath.ipcacheUpsert(cidr, identity, this.d.nodeIp);
          await this.attachFollowing(ep); // resyncs the pinned map with the computed policy first
          this.applyOptions(ep);
          ep.state = st.pendingLabels ? 'waiting-for-identity' : 'ready';
          this.byId.set(ep.id, ep);
          if (identity !== st.identity) await this.d.store.save(toState(ep));
          this.statusLog.record(ep.id, 'OK', ep.state, `Endpoint restored after an agent restart with identity ${identity}${identity !== st.identity ? ` (was ${st.identity})` : ''}`);
          this.publishIpcache(ep);
          this.d.events.created(ep);
          n++;
        } catch (err) {
          this.stopFollowing(st.id);
          this.d.log('error', 'endpoint restore failed', { endpointID: st.id, error: (err as Error).message });
        }
      }
      return n;
    });
  }

  /**
   * Gives an endpoint waiting for its identity (created as reserved:init) the labels its
   * runtime reported: its pending labels (namespace) plus these; allocates their identity,
   * re-attaches the endpoint with it and its policy, updates the ipcaches and the state
   * file, then releases the init identity. State waiting-for-identity -> regenerating ->
   * ready. EndpointNotFoundError when the endpoint is gone; an endpoint not waiting keeps
   * its labels (EndpointRequestError).
   */
  setRuntimeLabels(id: number, runtimeLabels: readonly string[]): Promise<Endpoint> {
    return this.serial(async () => {
      const ep = this.byId.get(id);
      if (!ep || ep.state === 'disconnecting') throw new EndpointNotFoundError(String(id));
      if (!ep.pendingLabels) throw new EndpointRequestError('labels', `endpoint ${id} is not waiting for labels from its runtime`);
      // A namespace label of the runtime's replaces the one the endpoint was created with.
      const nsLabel = runtimeLabels.find((l) => l.startsWith(NAMESPACE_LABEL));
      const kept = nsLabel ? ep.pendingLabels.filter((l) => !l.startsWith(NAMESPACE_LABEL)) : ep.pendingLabels;
      const labels = [...new Set([...kept, ...runtimeLabels])].sort();
      validateCreate({ ...ep, labels });
      const change: Partial<Endpoint> = { pendingLabels: undefined, ...(nsLabel ? { namespace: nsLabel.slice(NAMESPACE_LABEL.length) } : {}) };
      // On failure the endpoint stays reserved:init (fail-closed), waiting.
      const before = await this.switchIdentity(ep, labels, change, 'waiting-for-identity');
      this.d.log('info', 'endpoint labels from its runtime', { endpointID: id, containerID: ep.containerId, identity: ep.identity, labels });
      this.statusLog.record(id, 'OK', ep.state, `Labels from the runtime ${ep.runtime}: ${labels.join(', ')}; identity changed from ${before.identity} to ${ep.identity}`);
      this.d.events.relabeled?.(ep);
      return ep;
    });
  }

  /**
   * Gives ep `labels` (and the fields of `change`): their identity, policy and programs, the
   * ipcache and the state file, then releases the previous identity; state ready. On failure
   * everything is put back (state `failedState`) and the error rethrown. Runs inside serial().
   */
  private async switchIdentity(ep: Endpoint, labels: string[], change: Partial<Endpoint>, failedState: Endpoint['state']): Promise<{ labels: string[]; identity: number }> {
    const before = { labels: ep.labels, identity: ep.identity, policy: ep.policy, pendingLabels: ep.pendingLabels, namespace: ep.namespace };
    const identity = await this.allocateIdentity(labels);
    try {
      if (this.d.learnIdentity(identity, labels) && !this.followsPolicyDiffs) await this.regenerateInline('new identity');
      this.stopFollowing(ep.id);
      ep.state = 'regenerating';
      Object.assign(ep, change, { labels, identity, policy: this.d.policy.compute(labels) });
      for (const cidr of endpointCidrs(ep)) this.d.datapath.ipcacheUpsert(cidr, identity, this.d.nodeIp);
      await this.attachFollowing(ep);
      this.applyOptions(ep);
      await this.d.store.save(toState(ep));
    } catch (err) {
      this.stopFollowing(ep.id);
      Object.assign(ep, before);
      for (const cidr of endpointCidrs(ep)) this.d.datapath.ipcacheUpsert(cidr, ep.identity, this.d.nodeIp);
      await this.attachFollowing(ep).catch((e: Error) => this.d.log('error', 'restoring the endpoint after a failed identity change failed', { endpointID: ep.id, error: e.message }));
      ep.state = failedState;
      await this.releaseIdentity(labels).catch(() => undefined);
      throw err;
    }
    ep.state = 'ready';
    this.publishIpcache(ep);
    await this.releaseIdentity(before.labels).catch((e: Error) => this.d.log('warn', 'identity release failed', { error: e.message }));
    return before;
  }

  /** The identity of labels: the reserved init identity for reserved:init, else the cluster's. */
  private async allocateIdentity(labels: string[]): Promise<number> {
    if (isInitLabels(labels)) return InitIdentity;
    return (await this.d.identities.allocate(labels)).id;
  }

  private async releaseIdentity(labels: string[]): Promise<void> {
    if (!isInitLabels(labels)) await this.d.identities.release(labels);
  }

  /**
   * Recomputes every endpoint's policy and applies the differences to the datapath.
   * Coalesces: many triggers while one regeneration waits produce one more pass.
   */
  regenerateAll(reason: string): Promise<void> {
    if (this.regenPending) return this.queue.then(() => undefined);
    this.regenPending = true;
    return this.serial(async () => {
      this.regenPending = false;
      await this.regenerateInline(reason);
    });
  }

  private async regenerateInline(reason: string): Promise<void> {
    {
      for (const ep of this.byId.values()) {
        const start = performance.now();
        try {
          const next = this.d.policy.compute(ep.labels);
          const enforcementChanged =
            next.ingressEnforced !== ep.policy.ingressEnforced || next.egressEnforced !== ep.policy.egressEnforced;
          if (enforcementChanged) {
            ep.policy = next;
            await this.attachFollowing(ep);
            this.applyOptions(ep);
          } else {
            this.d.datapath.updatePolicy(ep.id, next.entries);
            ep.policy = next;
          }
          this.d.events.regenerated(ep, undefined, performance.now() - start);
          this.statusLog.record(ep.id, 'OK', ep.state, `Regenerated (${reason}), policy revision ${ep.policy.revision}`);
        } catch (err) {
          this.d.log('error', 'endpoint regeneration failed', { endpointID: ep.id, reason, error: (err as Error).message });
          this.statusLog.record(ep.id, 'Failure', ep.state, `Regeneration failed (${reason}): ${(err as Error).message}`);
          this.d.events.regenerated(ep, err as Error, performance.now() - start);
        }
      }
    }
  }

  /**
   * Regenerates one endpoint (`cilium endpoint regenerate ID`): recomputes its policy and
   * reloads its programs with it; resolves once the kernel has them.
   */
  regenerate(id: number): Promise<Endpoint> {
    return this.serial(async () => {
      const ep = this.byId.get(id);
      if (!ep) throw new EndpointNotFoundError(String(id));
      const start = performance.now();
      ep.state = 'regenerating';
      try {
        ep.policy = this.d.policy.compute(ep.labels);
        await this.attachFollowing(ep);
        this.applyOptions(ep);
      } catch (err) {
        ep.state = 'ready';
        this.statusLog.record(id, 'Failure', ep.state, `Regeneration failed (requested by the API): ${(err as Error).message}`);
        this.d.events.regenerated(ep, err as Error, performance.now() - start);
        throw err;
      }
      ep.state = 'ready';
      this.statusLog.record(id, 'OK', ep.state, `Regenerated (requested by the API), policy revision ${ep.policy.revision}`);
      this.d.events.regenerated(ep, undefined, performance.now() - start);
      return ep;
    });
  }

  /**
   * Adds and deletes labels (`cilium endpoint labels ID --add L --delete L`): the endpoint
   * takes the identity of its new label set, that identity's policy and programs, and
   * publishes its addresses with it. Invalid labels (EndpointRequestError naming
   * add[i] / delete[i]) and a failed identity allocation change nothing.
   */
  relabel(id: number, add: readonly string[], del: readonly string[]): Promise<Endpoint> {
    add.forEach((l, n) => checkLabel(l, `add[${n}]`));
    del.forEach((l, n) => checkLabel(l, `delete[${n}]`));
    if (add.length === 0 && del.length === 0) throw new EndpointRequestError('add', 'nothing to change: give labels to add or delete');
    return this.serial(async () => {
      const ep = this.byId.get(id);
      if (!ep) throw new EndpointNotFoundError(String(id));
      del.forEach((l, n) => {
        if (!ep.labels.includes(l)) throw new EndpointRequestError(`delete[${n}]`, `endpoint ${id} has no label "${l}" (it has ${ep.labels.join(', ') || 'none'})`);
      });
      const labels = [...new Set([...ep.labels.filter((l) => !del.includes(l)), ...add])].sort();
      if (labels.join(';') === ep.labels.join(';')) return ep;
      let before: { labels: string[]; identity: number };
      try {
        before = await this.switchIdentity(ep, labels, {}, ep.state);
      } catch (err) {
        this.statusLog.record(id, 'Failure', ep.state, `Label change failed: ${(err as Error).message}`);
        throw err;
      }
      const identity = ep.identity;
      this.d.log('info', 'endpoint labels changed', { endpointID: id, identity, previousIdentity: before.identity, labels });
      this.statusLog.record(id, 'OK', ep.state, `Labels changed to ${labels.join(', ')}; identity changed from ${before.identity} to ${identity}`);
      this.d.events.relabeled?.(ep);
      return ep;
    });
  }

  /**
   * Sets endpoint options (`cilium endpoint config ID Option=value`): all of `changes` or
   * none (EndpointOptionError names an unknown option or value). Returns once the datapath
   * has them and the state file keeps them; a failed save puts the datapath back.
   */
  configure(id: number, changes: Readonly<Record<string, string>>): Promise<Endpoint> {
    return this.serial(async () => {
      const ep = this.byId.get(id);
      if (!ep) throw new EndpointNotFoundError(String(id));
      const before = ep.options;
      const next = applyEndpointOptionChanges(before, changes);
      ep.options = next;
      try {
        if (next.Debug !== before.Debug) this.d.datapath.setEndpointDebug(ep.id, next.Debug);
        await this.d.store.save(toState(ep));
      } catch (err) {
        ep.options = before;
        try {
          this.applyOptions(ep);
        } catch (e) {
          this.d.log('warn', 'restoring endpoint options failed', { endpointID: ep.id, error: (e as Error).message });
        }
        throw err;
      }
      if (next.Debug !== before.Debug) {
        this.d.log('info', 'endpoint option changed', { endpointID: ep.id, option: 'Debug', value: next.Debug });
        this.statusLog.record(ep.id, 'OK', ep.state, `Option Debug set to ${next.Debug ? 'Enabled' : 'Disabled'}`);
      }
      return ep;
    });
  }

  /** Puts an endpoint's options into the datapath (after its programs are attached). */
  private applyOptions(ep: Endpoint): void {
    this.d.datapath.setEndpointDebug(ep.id, ep.options.Debug);
  }

  /** Re-publishes every endpoint into the cluster ipcache (after a kvstore reconnect). */
  republish(): void {
    for (const ep of this.byId.values()) this.publishIpcache(ep);
  }

  private publishIpcache(ep: Endpoint): void {
    for (const ip of endpointIps(ep)) {
      this.d.ipcache
        .upsert({ ip, identity: ep.identity, hostIP: this.d.nodeIp, ...(this.d.nodeIpv6 ? { hostIPv6: this.d.nodeIpv6 } : {}), node: this.d.nodeName, namespace: ep.namespace, pod: ep.podName })
        .catch((e: Error) => this.d.log('warn', 'ipcache publish failed; will retry on kvstore reconnect', { endpointID: ep.id, error: e.message }));
    }
  }

  private datapathSpec(ep: Endpoint) {
    return {
      id: ep.id,
      identity: ep.identity,
      hostIfname: ep.hostIfname,
      hostIfindex: ep.hostIfindex,
      ipv4: ep.ipv4,
      ipv6: ep.ipv6 || undefined,
      netns: this.d.netns.path,
      ingressEnforced: ep.policy.ingressEnforced,
      egressEnforced: ep.policy.egressEnforced,
    };
  }

  private nextId(): number {
    for (let id = 1; id <= MAX_ENDPOINT_ID; id++) if (!this.byId.has(id)) return id;
    throw new EndpointRequestError('id', `no free endpoint id (all ${MAX_ENDPOINT_ID} in use)`);
  }
}

function toState(ep: Endpoint): EndpointState {
  const { state: _s, policy: _p, ...rest } = ep;
  return rest;
}

/** Validates a CreateEndpoint request field by field. */
export function validateCreate(i: CreateEndpointInput): void {
  if (!i.containerId) throw new EndpointRequestError('container_id', 'is required');
  if (!i.hostIfname) throw new EndpointRequestError('host_ifname', 'is required');
  if (!IFNAME_RE.test(i.hostIfname)) throw new EndpointRequestError('host_ifname', `"${i.hostIfname}" is not a valid interface name`);
  if (i.ifname && !IFNAME_RE.test(i.ifname)) throw new EndpointRequestError('ifname', `"${i.ifname}" is not a valid interface name`);
  if (!i.ipv4) throw new EndpointRequestError('ipv4', 'is required (allocate one with Ipam.Allocate)');
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(i.ipv4)) throw new EndpointRequestError('ipv4', `"${i.ipv4}" is not an IPv4 address`);
  if (i.ipv6 && !/^[0-9a-fA-F:]+$/.test(i.ipv6)) throw new EndpointRequestError('ipv6', `"${i.ipv6}" is not an IPv6 address`);
  if (i.runtime && !/^[a-z0-9][a-z0-9._-]{0,31}$/.test(i.runtime)) {
    throw new EndpointRequestError('runtime', `"${i.runtime.slice(0, 40)}" must be 1-32 lower-case letters, digits, ".", "_" or "-" (e.g. podman, docker)`);
  }
  i.labels.forEach((l, n) => checkLabel(l, `labels[${n}]`));
}

/** Checks one label (source:key=value); EndpointRequestError names `field`. */
function checkLabel(l: string, field: string): void {
  if (!LABEL_RE.test(l)) throw new EndpointRequestError(field, `"${l.length > 80 ? `${l.slice(0, 80)}…` : l}" is not a label of the form source:key=value`);
  try {
    parseLabel(l);
  } catch (e) {
    throw new EndpointRequestError(field, e instanceof LabelParseError ? e.reason : String(e));
  }
}

/** The addresses of an endpoint: IPv4, and IPv6 when it has one. */
function endpointIps(ep: { ipv4: string; ipv6?: string }): string[] {
  return ep.ipv6 ? [ep.ipv4, ep.ipv6] : [ep.ipv4];
}

/** The host prefixes of an endpoint's addresses in the datapath ipcache (/32, /128). */
function endpointCidrs(ep: { ipv4: string; ipv6?: string }): string[] {
  return endpointIps(ep).map((ip) => `${ip}/${ip.includes(':') ? 128 : 32}`);
}
