// Datapath facade: the agent's one entry point to the kernel datapath. Shared maps live
// at pinDir/<map>; each endpoint's policy map and programs at pinDir/ep<id>/.
import { existsSync, mkdirSync, readdirSync, renameSync, rmdirSync, unlinkSync } from 'node:fs';
import { BpfMap } from './bpf-map.js';
import { ctExpired, DEFAULT_CT_TIMEOUTS, type CtTimeouts } from './ct-gc.js';
import { BpfError, DatapathInputError } from './errors.js';
import { EventReader } from './event-reader.js';
import { ensureSharedMaps, defaultObjectPath, loadEndpointObject, loadOverlayObject, objectBuildId, overlayConfig, PROGRAMS, SHARED_MAPS, type SharedMapName } from './endpoint-loader.js';
import { tunnelConfig, type TunnelConfig } from './tunnel-config.js';
import { proxyReadyKey, proxyReadyValue, type ProxyReadyKey, type ProxyReadyValue } from './proxy-ready.js';
import { PolicyMapWriter, type PolicyMapDiff, type PolicyMapWrite } from './policy-map-writer.js';
import { isBpffs, redirectPeerSupported } from './features.js';
import { formatCidr, parseCidr, parseIp, type Cidr } from './ip-address.js';
import { objGet, objPin, closeFd, mapInfo, progTestRun, type TestRunContext, type TestRunResult } from './libbpf.js';
import { readPinnedProgram, type PinnedProgram } from './pinned-program.js';
import {
  ctKey, ctValue, endpointConfig, EndpointFlags, endpointKey, endpointValue, ipcacheKey, ipcacheValue, metricsKey, metricsValue, policyKey,
  policyMapEntries, policyValue, u32, u64, type CtKey, type CtValue, type Direction, type EndpointInfo, type IpcacheValue,
  type EndpointConfig, type MetricsKey, type MetricsValue, type PolicyEntry,
} from './map-codecs.js';
import { tcAttach, tcAttachedProgramId, tcDetach, type TcHook, type TcTarget } from './tc-attach.js';
import { tcxAttach, tcxLink, tcxSupported } from './tcx-attach.js';

/** What the datapath needs to know about an endpoint to load its programs. */
export interface EndpointDatapathSpec {
  id: number;
  identity: number;
  hostIfname: string;
  hostIfindex: number;
  ipv4: string;
  ipv6?: string;
  /** Path of the network namespace holding hostIfname; undefined = current. */
  netns?: string;
  ingressEnforced: boolean;
  egressEnforced: boolean;
}

/**
 * Endpoint programs by their role (pin names under pinDir/ep<id>/). to-container-local
 * is never attached: other local endpoints' from-container tail-call it (policy_calls).
 */
export type EndpointProgram = 'from-container' | 'to-container' | 'to-container-local';

/**
 * How a packet between two endpoints of the node is delivered: 'peer' — the sender's
 * from-container applies the destination's ingress side (tail call into its
 * to-container-local) and puts the packet into the destination pod's namespace with
 * bpf_redirect_peer; 'neigh' — it is redirected to the destination's host veth with
 * bpf_redirect_neigh, where that endpoint's to-container runs.
 */
export type LocalDelivery = 'peer' | 'neigh';

/** One connection tracking entry. */
export type CtEntry = CtKey & CtValue;

/** Counters of one (reason, direction): reason 0 = forwarded, else a drop reason. */
export interface MetricsEntry { reason: number; direction: Direction; packets: bigint; bytes: bigint }

/** Options of Datapath.open. */
export interface DatapathOptions {
  /** bpffs directory holding this node's pins, e.g. /sys/fs/bpf/cilium-ts. */
  pinDir: string;
  /** Compiled object; default: the one built into dist/bpf/datapath.o. */
  objectPath?: string;
  /** CT lifetimes used by ctGc (default: Cilium's). */
  ctTimeouts?: Partial<CtTimeouts>;
  /**
   * How programs are attached: 'tcx' links (kernel >= 6.6, interfaces in this process's
   * namespace only), 'tc' clsact filters, or 'auto' (default): tcx where the kernel has
   * it and the endpoint has no netns, else tc.
   */
  attachMode?: 'auto' | 'tcx' | 'tc';
  /** Run ctGc every this many ms while open (default 30000; 0 = never, the caller runs ctGc). */
  ctGcIntervalMs?: number;
  /** Told the result (or error) of each periodic ctGc pass. */
  onCtGc?: (result: CtGcResult | Error) => void;
  /** Local delivery (default 'peer' where the kernel has bpf_redirect_peer, else 'neigh'); applies to endpoints attached from now on. */
  localDelivery?: LocalDelivery;
}

/** How an endpoint's programs are attached. */
export type AttachMode = 'tcx' | 'tc';

/** Result of attachOverlay: reattached false when the attached program was current and nothing was loaded. */
export interface OverlayAttachResult { reattached: boolean }

/** Result of one CT garbage collection pass. */
export interface CtGcResult { scanned: number; deleted: number }

const MAX_ENDPOINT_ID = 0xffff;

/** The kernel datapath of one node: shared maps, per-endpoint programs and policy maps. */
export class Datapath {
  private readonly writers = new Map<number, PolicyMapWriter>();
  private closed = false;
  /** CT lifetimes used by ctGc. */
  ctTimeouts: CtTimeouts = DEFAULT_CT_TIMEOUTS;
  private stopGc?: () => void;
  /** Shared maps found pinned with another build's layout and replaced by Datapath.open. */
  replacedMaps: string[] = [];
  /** Attach mode option (see DatapathOptions.attachMode). */
  attachMode: 'auto' | 'tcx' | 'tc' = 'auto';
  /** Local delivery of endpoints attached or loaded from now on (see DatapathOptions.localDelivery). */
  localDelivery: LocalDelivery = 'neigh';

  private constructor(
    /** bpffs directory of this node's pins. */
    readonly pinDir: string,
    /** The compiled object loaded per endpoint. */
    readonly objectPath: string,
    private readonly ipcache: BpfMap<Cidr, IpcacheValue>,
    private readonly ct: BpfMap<CtKey, CtValue>,
    private readonly endpoints: BpfMap<{ family: 4 | 6; bytes: Buffer }, EndpointInfo>,
    private readonly metrics: BpfMap<MetricsKey, MetricsValue>,
    private readonly epFlags: BpfMap<number, number>,
    private readonly policyCalls: BpfMap<number, number>,
    private readonly proxyReady: BpfMap<ProxyReadyKey, ProxyReadyValue>,
  ) {}

  /** Creates (or reuses) the pinned shared maps under pinDir. Compiles nothing. */
  static async open(opts: DatapathOptions): Promise<Datapath> {
    const objectPath = opts.objectPath ?? defaultObjectPath();
    if (!existsSync(objectPath)) {
      throw new BpfError(`open datapath object ${objectPath}`, 2, { hint: 'run `npm run build` in libs/bpf (it compiles bpf/*.c into dist/bpf), or pass objectPath' });
    }
    mkdirSync(opts.pinDir, { recursive: true });
    if (!isBpffs(opts.pinDir)) {
      throw new BpfError(`use pin directory ${opts.pinDir}`, 22, { hint: 'pinDir must be on bpffs: mount -t bpf bpf /sys/fs/bpf and use a directory below it' });
    }
    const replaced = ensureSharedMaps(objectPath, opts.pinDir);
    const pin = (n: string): string => `${opts.pinDir}/${n}`;
    const opened: Array<BpfMap<never, never>> = [];
    try {
      const ipcache = BpfMap.openPinned(pin('ipcache'), 'ipcache', ipcacheKey, ipcacheValue);
      opened.push(ipcache as never);
      const ct = BpfMap.openPinned(pin('ct'), 'ct', ctKey, ctValue);
      opened.push(ct as never);
      const endpoints = BpfMap.openPinned(pin('endpoints'), 'endpoints', endpointKey, endpointValue);
      opened.push(endpoints as never);
      const metrics = BpfMap.openPinned(pin('metrics'), 'metrics', metricsKey, metricsValue, { perCpu: true });
      opened.push(metrics as never);
      const epFlags = BpfMap.openPinned(pin('ep_flags'), 'ep_flags', u32, u32);
      opened.push(epFlags as never);
      const policyCalls = BpfMap.openPinned(pin('policy_calls'), 'policy_calls', u32, u32);
      opened.push(policyCalls as never);
      const proxyReady = BpfMap.openPinned(pin('proxy_ready'), 'proxy_ready', proxyReadyKey, proxyReadyValue);
      const dp = new Datapath(opts.pinDir, objectPath, ipcache, ct, endpoints, metrics, epFlags, policyCalls, proxyReady);
      dp.localDelivery = opts.localDelivery ?? (redirectPeerSupported() ? 'peer' : 'neigh');
      dp.ctTimeouts = { ...DEFAULT_CT_TIMEOUTS, ...opts.ctTimeouts };
      dp.attachMode = opts.attachMode ?? 'auto';
      dp.replacedMaps = replaced;
      const gcMs = opts.ctGcIntervalMs ?? 30_000;
      if (gcMs > 0) dp.stopGc = dp.startCtGc(gcMs, opts.onCtGc);
      return dp;
    } catch (err) {
      for (const m of opened) m.close();
      throw err;
    }
  }

  private live(op: string): void {
    if (this.closed) throw new BpfError(op, 9, { hint: 'the Datapath was closed; open a new one' });
  }

  private endpointDir(id: number): string {
    return `${this.pinDir}/ep${id}`;
  }

  /** Pin path of an endpoint's program or policy map. */
  pinPath(endpointId: number, what: EndpointProgram | 'policy'): string {
    return `${this.endpointDir(endpointId)}/${what}`;
  }

  /**
   * Loads the endpoint's programs with its constants, fills its policy map, and pins
   * everything under pinDir/ep<id>/ without attaching. Returns the pins of the new
   * programs (suffix "-new" when staged for an attach). On failure leaves nothing new behind.
   */
  loadEndpoint(spec: Omit<EndpointDatapathSpec, 'hostIfname'>, policy: readonly PolicyEntry[], opts: { stage?: boolean } = {}): { fromContainer: string; toContainer: string; toContainerLocal: string; created: boolean } {
    this.live(`load endpoint ${spec.id}`);
    validateSpec(spec);
    policyMapEntries(policy); // validates before anything is loaded
    const dir = this.endpointDir(spec.id);
    const policyPin = this.pinPath(spec.id, 'policy');
    const created = !existsSync(policyPin);
    const suffix = opts.stage ? '-new' : ''; // bpffs refuses names containing '.'
    const pins = {
      fromContainer: `${this.pinPath(spec.id, 'from-container')}${suffix}`,
      toContainer: `${this.pinPath(spec.id, 'to-container')}${suffix}`,
      toContainerLocal: `${this.pinPath(spec.id, 'to-container-local')}${suffix}`,
    };
    mkdirSync(dir, { recursive: true });
    // A new endpoint (its id may be a detached one's) starts with no proxy ready: L7 traffic drops.
    if (created) {
      this.clearProxyReady(spec.id);
      this.dropWriter(spec.id); // a writer of an earlier map of this id would write into that map
    }
    let obj;
    try {
      obj = loadEndpointObject(this.objectPath, this.pinDir, policyPin, this.endpointConfig(spec));
      this.applyPolicy(spec, policy);
      for (const [pin, prog] of [[pins.fromContainer, PROGRAMS.fromContainer], [pins.toContainer, PROGRAMS.toContainer], [pins.toContainerLocal, PROGRAMS.toContainerLocal]] as const) {
        if (existsSync(pin)) unlinkSync(pin);
        objPin(obj.programFd(prog), pin, `program ${prog} of endpoint ${spec.id}`);
      }
      if (!opts.stage) this.registerLocal(spec.id, pins.toContainerLocal);
      return { ...pins, created };
    } catch (err) {
      if (opts.stage) for (const p of Object.values(pins)) rmQuiet(p);
      if (created) this.removeEndpointPins(spec.id);
      throw err;
    } finally {
      obj?.close();
    }
  }

  /**
   * Loads, pins and attaches the endpoint's programs on its host-side interface (tc
   * ingress = from-container, tc egress = to-container), inside spec.netns when given.
   * The policy is in the map before the programs are attached. Re-attaching replaces
   * the programs atomically; on failure nothing new is left behind (a failed re-attach
   * keeps the old programs, with the new policy already in the map). Callers serialize
   * attach / detach per endpoint.
   */
  async attachEndpoint(spec: EndpointDatapathSpec, policy: readonly PolicyEntry[]): Promise<{ reattached: boolean }> {
    if (typeof spec.hostIfname !== 'string' || spec.hostIfname === '') throw new DatapathInputError('spec.hostIfname', spec.hostIfname, 'must name the host-side interface');
    this.live(`attach endpoint ${spec.id}`);
    validateSpec(spec);
    const target: TcTarget = { ifname: spec.hostIfname, netns: spec.netns };
    if (await this.attachedAndCurrent(spec, target)) {
      // Restore after a restart, or a policy change: the running programs stay.
      this.applyPolicy(spec, policy);
      this.registerLocal(spec.id, this.pinPath(spec.id, 'to-container-local'));
      this.upsertEndpointIps(spec);
      return { reattached: false };
    }
    const staged = this.loadEndpoint(spec, policy, { stage: true });
    try {
      await this.hookAttach(spec, target, 'egress', staged.toContainer);
      await this.hookAttach(spec, target, 'ingress', staged.fromContainer);
      renameSync(staged.fromContainer, this.pinPath(spec.id, 'from-container'));
      renameSync(staged.toContainer, this.pinPath(spec.id, 'to-container'));
      renameSync(staged.toContainerLocal, this.pinPath(spec.id, 'to-container-local'));
      this.registerLocal(spec.id, this.pinPath(spec.id, 'to-container-local'));
      this.upsertEndpointIps(spec);
      return { reattached: true };
    } catch (err) {
      rmQuiet(staged.fromContainer);
      rmQuiet(staged.toContainer);
      rmQuiet(staged.toContainerLocal);
      if (staged.created) {
        await tcDetach(target, 'ingress').catch(() => undefined);
        await tcDetach(target, 'egress').catch(() => undefined);
        this.removeEndpointPins(spec.id);
      }
      throw err;
    }
  }

  /**
   * Puts the endpoint's to-container-local (pinned at pin) into policy_calls, so other
   * local endpoints deliver to it with bpf_redirect_peer; with localDelivery 'neigh'
   * removes the entry instead (senders then use bpf_redirect_neigh).
   */
  private registerLocal(endpointId: number, pin: string): void {
    if (this.localDelivery !== 'peer') {
      this.policyCalls.delete(endpointId);
      return;
    }
    const fd = objGet(pin, `program to-container-local of endpoint ${endpointId}`);
    try {
      this.policyCalls.update(endpointId, fd);
    } finally {
      closeFd(fd);
    }
  }

  /** Kernel id of the endpoint's program in policy_calls (what local senders tail-call); undefined when none. */
  localDeliveryProgramId(endpointId: number): number | undefined {
    this.live(`read policy_calls of endpoint ${endpointId}`);
    return this.policyCalls.lookup(endpointId);
  }

  /** How spec's programs are (or would be) attached under this Datapath's attachMode. */
  attachModeOf(spec: { netns?: string }): AttachMode {
    if (this.attachMode === 'tc' || spec.netns) return 'tc';
    return this.attachMode === 'tcx' || tcxSupported() ? 'tcx' : 'tc';
  }

  private linkPin(endpointId: number, hook: TcHook): string {
    return `${this.endpointDir(endpointId)}/link-${hook}`;
  }

  private async hookAttach(spec: EndpointDatapathSpec, target: TcTarget, hook: TcHook, progPin: string): Promise<void> {
    if (this.attachModeOf(spec) === 'tcx') tcxAttach(spec.hostIfindex, hook, progPin, this.linkPin(spec.id, hook));
    else await tcAttach(target, hook, progPin);
  }

  /** Kernel ids of the programs attached at the endpoint's hooks (tcx links or tc filters). */
  async attachedProgramIds(spec: { id: number; hostIfname: string; netns?: string }): Promise<{ mode: AttachMode; ingress?: number; egress?: number }> {
    const mode = this.attachModeOf(spec);
    const id = async (hook: TcHook): Promise<number | undefined> =>
      mode === 'tcx' ? tcxLink(this.linkPin(spec.id, hook))?.progId : tcAttachedProgramId({ ifname: spec.hostIfname, netns: spec.netns }, hook);
    return { mode, ingress: await id('ingress'), egress: await id('egress') };
  }

  private upsertEndpointIps(spec: EndpointDatapathSpec): void {
    for (const ip of [spec.ipv4, spec.ipv6]) {
      if (ip) this.endpointsMapUpsert(ip, { endpointId: spec.id, ifindex: spec.hostIfindex, identity: spec.identity });
    }
  }

  private endpointConfig(spec: Omit<EndpointDatapathSpec, 'hostIfname'>): EndpointConfig {
    return { endpointId: spec.id, identity: spec.identity, ifindex: spec.hostIfindex, buildId: objectBuildId(this.objectPath) };
  }

  /**
   * Writes the policy map and the enforcement flags in the order that never opens a
   * gap: enforcement is switched on only after the map is complete, and off before
   * the map is emptied.
   */
  private applyPolicy(spec: Omit<EndpointDatapathSpec, 'hostIfname'>, policy: readonly PolicyEntry[]): void {
    const enforce = (spec.ingressEnforced ? EndpointFlags.ingressEnforced : 0) | (spec.egressEnforced ? EndpointFlags.egressEnforced : 0);
    const writer = this.writer(spec.id, false);
    this.commitPolicy(spec.id, writer, writer.resync(policy), enforce);
  }

  /**
   * Syncs the policy map between two ep_flags writes: before, enforcement may only go
   * off and the deny bits only on; after, both take their new values. So no packet is
   * checked against a half-written map while enforced, and none skips a deny entry.
   * enforce undefined keeps the current enforcement.
   */
  private commitPolicy(endpointId: number, writer: PolicyMapWriter, write: PolicyMapWrite, enforce?: number): void {
    const ENFORCE = EndpointFlags.ingressEnforced | EndpointFlags.egressEnforced;
    const current = this.epFlags.lookup(endpointId) ?? 0;
    const deny = writer.denyBits;
    const enf = enforce ?? (current & ENFORCE);
    try {
      this.epFlags.update(endpointId, (current & enf & ENFORCE) | (current & ~ENFORCE) | deny);
      // Additions before removals, so that a narrowing change never denies in between.
      if (write.updates.length) writer.map.updateBatch(write.updates);
      if (write.deletes.length) writer.map.deleteBatch(write.deletes);
    } catch (err) {
      // The writer's state may no longer be the kernel's: the next write resyncs from the map.
      this.dropWriter(endpointId);
      throw err;
    }
    this.epFlags.update(endpointId, enf | deny | (current & EndpointFlags.debug));
  }

  /**
   * Turns the endpoint's datapath debug messages on or off (Cilium's endpoint Debug
   * option): its programs emit EventType.debug records (CT lookups, policy decisions,
   * local delivery, encap / decap) into the events ring. Takes effect for the next
   * packet; kept across policy changes and attach, cleared by detachEndpoint.
   */
  setEndpointDebug(endpointId: number, on: boolean): void {
    this.live(`set debug of endpoint ${endpointId}`);
    if (!Number.isInteger(endpointId) || endpointId < 1 || endpointId > MAX_ENDPOINT_ID) throw new DatapathInputError('endpointId', endpointId, `must be an integer 1..${MAX_ENDPOINT_ID}`);
    const current = this.epFlags.lookup(endpointId) ?? 0;
    this.epFlags.update(endpointId, on ? current | EndpointFlags.debug : current & ~EndpointFlags.debug);
  }

  /** Whether the endpoint's datapath debug messages are on. */
  endpointDebug(endpointId: number): boolean {
    this.live(`read debug of endpoint ${endpointId}`);
    return ((this.epFlags.lookup(endpointId) ?? 0) & EndpointFlags.debug) !== 0;
  }

  /** Enforcement flags of an endpoint as the programs see them. */
  enforcement(endpointId: number): { ingress: boolean; egress: boolean } {
    this.live(`read enforcement of endpoint ${endpointId}`);
    const f = this.epFlags.lookup(endpointId) ?? 0;
    return { ingress: (f & EndpointFlags.ingressEnforced) !== 0, egress: (f & EndpointFlags.egressEnforced) !== 0 };
  }

  /**
   * Whether the endpoint's pinned programs are the ones attached at both tc hooks and
   * were loaded from this build with spec's constants and today's shared maps (then
   * nothing needs reloading).
   */
  private async attachedAndCurrent(spec: EndpointDatapathSpec, target: TcTarget): Promise<boolean> {
    const cfg = this.endpointConfig(spec);
    const tcx = this.attachModeOf(spec) === 'tcx';
    for (const [prog, hook] of [['from-container', 'ingress'], ['to-container', 'egress']] as const) {
      const pin = this.pinPath(spec.id, prog);
      if (!existsSync(pin) || !existsSync(this.pinPath(spec.id, 'policy')) || !existsSync(this.pinPath(spec.id, 'to-container-local'))) return false;
      const info = this.pinnedProgram(spec.id, prog);
      if (!info || !this.loadedFromThisBuild(info, cfg)) return false;
      const attached = tcx ? tcxLink(this.linkPin(spec.id, hook))?.progId : await tcAttachedProgramId(target, hook);
      if (attached !== info.id) return false;
    }
    return true;
  }

  /** Kernel id and .rodata of an endpoint's pinned program; undefined when not pinned. */
  pinnedProgram(endpointId: number, program: EndpointProgram): PinnedProgram | undefined {
    return readPinnedProgram(this.pinPath(endpointId, program), `program ${program} of endpoint ${endpointId}`);
  }

  /**
   * Replaces the endpoint's policy with policy: the safe resync path (reads the kernel map
   * once and writes only the entries that differ), for restore and full recomputes.
   */
  updatePolicy(endpointId: number, policy: readonly PolicyEntry[]): void {
    this.live(`update policy of endpoint ${endpointId}`);
    const writer = this.writer(endpointId, false);
    this.commitPolicy(endpointId, writer, writer.resync(policy));
  }

  /**
   * Applies a policy diff (libs/policy's PolicyDiff: removed, then added) to the endpoint's
   * policy map, writing exactly the map keys it changes, without reading the map back.
   * The endpoint's map state comes from this Datapath's last write for it; when there is
   * none (a new process, or a failed write), its map is first read once (resync against the
   * current entries is then the caller's job: pass the full policy to updatePolicy first).
   */
  applyPolicyDiff(endpointId: number, diff: PolicyMapDiff): void {
    this.live(`apply policy diff to endpoint ${endpointId}`);
    const writer = this.writer(endpointId, true);
    this.commitPolicy(endpointId, writer, writer.apply(diff));
  }

  /**
   * The endpoint's policy-map writer. known: the caller relies on the state of earlier
   * writes; without a writer one is made from the kernel map as it is (a diff is then
   * applied to what the map holds).
   */
  private writer(endpointId: number, known: boolean): PolicyMapWriter {
    let w = this.writers.get(endpointId);
    if (!w) {
      const map = BpfMap.openPinned(this.pinPath(endpointId, 'policy'), `policy of endpoint ${endpointId}`, policyKey, policyValue);
      w = new PolicyMapWriter(map);
      if (known) w.resync(map.entries().map(([k, v]) => ({ direction: k.direction, identity: k.identity, protocol: k.protocol, port: k.port, deny: v.deny, ...(v.proxyPort ? { proxyPort: v.proxyPort } : {}) })));
      this.writers.set(endpointId, w);
    }
    return w;
  }

  private dropWriter(endpointId: number): void {
    this.writers.get(endpointId)?.map.close();
    this.writers.delete(endpointId);
  }

  /** The endpoint's policy map, one entry per map key (port ranges appear per port). */
  policyList(endpointId: number): PolicyEntry[] {
    this.live(`list policy of endpoint ${endpointId}`);
    return this.writer(endpointId, false).map.entries().map(([k, v]) => ({
      direction: k.direction, identity: k.identity, protocol: k.protocol, port: k.port, deny: v.deny,
      ...(v.proxyPort ? { proxyPort: v.proxyPort } : {}),
    }));
  }

  /** Detaches the endpoint's programs and removes its pins and endpoints entries. Idempotent. */
  async detachEndpoint(spec: { id: number; hostIfname: string; netns?: string }): Promise<void> {
    this.live(`detach endpoint ${spec.id}`);
    const target: TcTarget = { ifname: spec.hostIfname, netns: spec.netns };
    // Senders stop handing packets to this endpoint's programs before they go.
    if (Number.isInteger(spec.id) && spec.id >= 0 && spec.id <= MAX_ENDPOINT_ID) this.policyCalls.delete(spec.id);
    if (this.attachModeOf(spec) === 'tcx') {
      for (const hook of ['ingress', 'egress'] as const) rmQuiet(this.linkPin(spec.id, hook)); // frees the tcx links
    } else if (!spec.netns || existsSync(spec.netns)) {
      await tcDetach(target, 'ingress');
      await tcDetach(target, 'egress');
    }
    for (const [k, v] of this.endpoints.entries()) if (v.endpointId === spec.id) this.endpoints.delete(k);
    if (Number.isInteger(spec.id) && spec.id >= 0 && spec.id <= MAX_ENDPOINT_ID) this.epFlags.update(spec.id, 0);
    this.clearProxyReady(spec.id);
    this.removeEndpointPins(spec.id);
  }

  private removeEndpointPins(id: number): void {
    if (Number.isInteger(id) && id >= 0 && id <= MAX_ENDPOINT_ID) this.policyCalls.delete(id);
    this.dropWriter(id);
    const dir = this.endpointDir(id);
    if (!existsSync(dir)) return;
    for (const f of readdirSync(dir)) rmQuiet(`${dir}/${f}`);
    try {
      rmdirSync(dir);
    } catch {
      // a concurrent pin appeared; leave the directory
    }
  }

  /**
   * Marks the L7 proxy listener proxyPort as ready for the endpoint: from the next packet,
   * traffic its policy redirects to proxyPort goes to target (see ProxyReadyValue) instead
   * of being dropped with DropReason.noConfig. Only for whoever runs the proxy, once it has
   * confirmed it holds the endpoint's rules (no agent API writes it yet: no proxy exists).
   */
  proxyReadySet(endpointId: number, proxyPort: number, target: ProxyReadyValue): void {
    this.live(`mark proxy ${proxyPort} ready for endpoint ${endpointId}`);
    this.proxyReady.update({ endpointId, proxyPort }, target);
  }

  /** Withdraws a proxy_ready entry (its traffic drops again); false when absent. */
  proxyReadyDelete(endpointId: number, proxyPort: number): boolean {
    this.live(`withdraw proxy ${proxyPort} of endpoint ${endpointId}`);
    return this.proxyReady.delete({ endpointId, proxyPort });
  }

  /** The proxy_ready entries. */
  proxyReadyList(): Array<ProxyReadyKey & ProxyReadyValue> {
    this.live('list proxy_ready');
    return this.proxyReady.entries().map(([k, v]) => ({ ...k, ...v }));
  }

  private clearProxyReady(endpointId: number): void {
    for (const [k] of this.proxyReady.entries()) if (k.endpointId === endpointId) this.proxyReady.delete(k);
  }

  /** Runs one endpoint program on packet (BPF_PROG_TEST_RUN, repeat times, starting from ctx's skb mark / cb); retval 0 = TC_ACT_OK, 2 = TC_ACT_SHOT. */
  testRun(endpointId: number, program: EndpointProgram, packet: Buffer, opts: { repeat?: number; ctx?: TestRunContext } = {}): TestRunResult {
    this.live(`test-run ${program} of endpoint ${endpointId}`);
    const fd = objGet(this.pinPath(endpointId, program), `program ${program} of endpoint ${endpointId}`);
    try {
      return progTestRun(fd, packet, opts.repeat ?? 1, opts.ctx);
    } finally {
      closeFd(fd);
    }
  }

  /**
   * Tunnel mode on (cfg) or off (undefined = native routing): from-container sends
   * packets to addresses whose ipcache entry names another node's address (IPv4 or
   * IPv6 underlay, as the entry's hostIp says; cfg.localIpv4 / localIpv6 are this node's
   * own, never a tunnel end) through the VXLAN device cfg.ifindex, with the endpoint's
   * identity as the VNI. Takes effect for the next packet; no reload.
   */
  setTunnel(cfg: TunnelConfig | undefined): void {
    this.live('set tunnel mode');
    const map = BpfMap.openPinned(`${this.pinDir}/tunnel`, 'tunnel', u32, tunnelConfig);
    try {
      map.update(0, cfg);
    } finally {
      map.close();
    }
  }

  /** The tunnel settings in the datapath, undefined in native routing. */
  tunnel(): TunnelConfig | undefined {
    this.live('read tunnel mode');
    const map = BpfMap.openPinned(`${this.pinDir}/tunnel`, 'tunnel', u32, tunnelConfig);
    try {
      return map.lookup(0);
    } finally {
      map.close();
    }
  }

  /** Pin path of the from-overlay program. */
  overlayPin(): string {
    return `${this.pinDir}/overlay/from-overlay`;
  }

  /**
   * Loads, pins (pinDir/overlay/from-overlay) and attaches the from-overlay program on
   * tc ingress of the VXLAN device (target.ifname, in target.netns when given). It hands
   * the VNI (the sender's identity) to to-container. Like attachEndpoint on a restart:
   * when the pinned program is the one attached there, carries this object's build id
   * and uses the shared maps pinned now, nothing is loaded (`{ reattached: false }`);
   * otherwise a new program replaces the attached one atomically (`{ reattached: true }`).
   */
  async attachOverlay(target: TcTarget): Promise<OverlayAttachResult> {
    this.live(`attach from-overlay to ${target.ifname}`);
    const pin = this.overlayPin();
    const current = readPinnedProgram(pin, 'program from-overlay');
    if (current && this.loadedFromThisBuild(current, overlayConfig(this.objectPath)) && (await tcAttachedProgramId(target, 'ingress')) === current.id) {
      return { reattached: false } as OverlayAttachResult;
    }
    mkdirSync(`${this.pinDir}/overlay`, { recursive: true });
    const obj = loadOverlayObject(this.objectPath, this.pinDir);
    try {
      rmQuiet(`${pin}-new`);
      objPin(obj.programFd(PROGRAMS.fromOverlay), `${pin}-new`, 'program from_overlay');
    } finally {
      obj.close();
    }
    try {
      await tcAttach(target, 'ingress', `${pin}-new`);
      renameSync(`${pin}-new`, pin);
      return { reattached: true } as OverlayAttachResult;
    } catch (err) {
      rmQuiet(`${pin}-new`);
      throw err;
    }
  }

  /**
   * Whether a pinned program was loaded from this object with constants cfg (its .rodata
   * starts with them) and uses the shared maps pinned under pinDir now (none of them was
   * replaced since it was loaded).
   */
  private loadedFromThisBuild(prog: PinnedProgram, cfg: EndpointConfig): boolean {
    const want = endpointConfig.encode(cfg);
    if (!prog.rodata.subarray(0, want.length).equals(want)) return false;
    for (const name of SHARED_MAPS) {
      const used = prog.maps.get(name);
      if (used !== undefined && used !== this.sharedMapId(name)) return false;
    }
    return true;
  }

  /** Kernel id of the shared map pinned as pinDir/<name>; undefined when not pinned. */
  private sharedMapId(name: SharedMapName): number | undefined {
    const pin = `${this.pinDir}/${name}`;
    if (!existsSync(pin)) return undefined;
    const fd = objGet(pin, `shared map ${name}`);
    try {
      return mapInfo(fd, `shared map ${name}`).id;
    } finally {
      closeFd(fd);
    }
  }

  /** Detaches from-overlay from target and removes its pin; succeeds when already gone. */
  async detachOverlay(target: TcTarget): Promise<void> {
    this.live(`detach from-overlay from ${target.ifname}`);
    await tcDetach(target, 'ingress');
    rmQuiet(this.overlayPin());
  }

  /** Runs the pinned from-overlay program on packet (BPF_PROG_TEST_RUN). */
  testRunOverlay(packet: Buffer): TestRunResult {
    this.live('test-run from-overlay');
    const fd = objGet(this.overlayPin(), 'program from-overlay');
    try {
      return progTestRun(fd, packet, 1);
    } finally {
      closeFd(fd);
    }
  }

  /** Maps cidr (or a bare IP) to identity, and the node hosting it. */
  ipcacheUpsert(cidr: string, identity: number, hostIp?: string): void {
    this.live('ipcache upsert');
    if (!Number.isInteger(identity) || identity < 0 || identity > 0xffffffff) throw new DatapathInputError('identity', identity, 'must be an integer 0..2^32-1');
    this.ipcache.update(parseCidr(cidr), { identity, hostIp });
  }

  /** Removes cidr from the ipcache; false when absent. */
  ipcacheDelete(cidr: string): boolean {
    this.live('ipcache delete');
    return this.ipcache.delete(parseCidr(cidr));
  }

  /** All ipcache entries. */
  ipcacheList(): Array<{ cidr: string; identity: number; hostIp?: string }> {
    this.live('ipcache list');
    return this.ipcache.entries().map(([k, v]) => ({ cidr: formatCidr(k), identity: v.identity, ...(v.hostIp ? { hostIp: v.hostIp } : {}) }));
  }

  /** Registers a local endpoint's address (events report it as dst_endpoint). */
  endpointsMapUpsert(ip: string, info: EndpointInfo): void {
    this.live('endpoints upsert');
    this.endpoints.update(parseIp(ip), info);
  }

  /** Removes a local endpoint's address; false when absent. */
  endpointsMapDelete(ip: string): boolean {
    this.live('endpoints delete');
    return this.endpoints.delete(parseIp(ip));
  }

  /** All local endpoint addresses. */
  endpointsMapList(): Array<{ ip: string } & EndpointInfo> {
    this.live('endpoints list');
    return this.endpoints.entries().map(([k, v]) => ({ ip: formatCidr({ ...k, prefixLen: 0 }).replace(/\/0$/, ''), ...v }));
  }

  /** A new reader of the shared event ring buffer; close it when done. */
  events(opts: { pollMs?: number } = {}): EventReader {
    this.live('read events');
    return new EventReader({ eventsPin: `${this.pinDir}/events`, lostPin: `${this.pinDir}/events_lost`, pollMs: opts.pollMs });
  }

  /** Connection tracking entries. */
  ctList(): CtEntry[] {
    this.live('ct list');
    return this.ct.entriesBatch(1024).map(([k, [v]]) => ({ ...k, ...v }));
  }

  /** Removes every connection tracking entry (e.g. after a policy change that must cut replies). */
  ctFlush(): number {
    this.live('ct flush');
    return this.ct.deleteBatchRaw(this.ct.entriesBatchRaw(1024).map(([k]) => k));
  }

  /**
   * Removes expired CT entries: closing TCP (FIN/RST seen) after ctTimeouts.tcpClose,
   * unanswered SYNs after tcpSyn, established TCP after tcpEstablished, others after
   * nonTcp seconds without a packet. nowNs is CLOCK_MONOTONIC (bpf_ktime_get_ns's clock).
   */
  ctGc(nowNs: bigint = process.hrtime.bigint()): CtGcResult {
    this.live('ct gc');
    const all = this.ct.entriesBatchRaw(1024);
    const expired = all.filter(([k, v]) => ctExpired(ctKey.decode(k), ctValue.decode(v), nowNs, this.ctTimeouts)).map(([k]) => k);
    return { scanned: all.length, deleted: expired.length ? this.ct.deleteBatchRaw(expired) : 0 };
  }

  /** Runs ctGc every intervalMs (unref'd timer) until the returned function is called or the Datapath closes. */
  startCtGc(intervalMs: number, onPass?: (r: CtGcResult | Error) => void): () => void {
    const t = setInterval(() => {
      if (this.closed) return clearInterval(t);
      try {
        onPass?.(this.ctGc());
      } catch (err) {
        onPass?.(err as Error);
      }
    }, intervalMs);
    t.unref();
    return () => clearInterval(t);
  }

  /** Forwarded / dropped counters summed over CPUs. */
  metricsList(): MetricsEntry[] {
    this.live('metrics list');
    return this.metrics.entriesBatch(1024)
      .map(([k, slots]) => ({
        reason: k.reason, direction: k.direction,
        packets: slots.reduce((a, s) => a + s.packets, 0n), bytes: slots.reduce((a, s) => a + s.bytes, 0n),
      }))
      .filter((m) => m.packets > 0n);
  }

  /** Records lost because the ring buffer was full, summed over CPUs. */
  eventsLost(): bigint {
    const m = BpfMap.openPinned(`${this.pinDir}/events_lost`, 'events_lost', u32, u64, { perCpu: true });
    try {
      return (m.lookupPerCpu(0) ?? []).reduce((a, b) => a + b, 0n);
    } finally {
      m.close();
    }
  }

  /** Closes this process's fds; pinned maps and attached programs stay in the kernel. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopGc?.();
    for (const w of this.writers.values()) w.map.close();
    this.writers.clear();
    for (const m of [this.ipcache, this.ct, this.endpoints, this.metrics, this.epFlags, this.policyCalls, this.proxyReady] as Array<{ close(): void }>) m.close();
  }

  /** Removes every pin under pinDir (shared maps and all endpoints); attached programs keep running until detached. */
  static removePins(pinDir: string): void {
    if (!existsSync(pinDir)) return;
    for (const f of readdirSync(pinDir, { withFileTypes: true })) {
      const p = `${pinDir}/${f.name}`;
      if (f.isDirectory()) {
        for (const g of readdirSync(p)) rmQuiet(`${p}/${g}`);
        try { rmdirSync(p); } catch { /* not empty */ }
      } else rmQuiet(p);
    }
    try { rmdirSync(pinDir); } catch { /* not empty */ }
  }
}

function rmQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

function validateSpec(spec: Omit<EndpointDatapathSpec, 'hostIfname'>): void {
  if (!Number.isInteger(spec.id) || spec.id < 1 || spec.id > MAX_ENDPOINT_ID) throw new DatapathInputError('spec.id', spec.id, `must be an integer 1..${MAX_ENDPOINT_ID} (events carry it as u16)`);
  if (!Number.isInteger(spec.identity) || spec.identity < 0 || spec.identity > 0xffffffff) throw new DatapathInputError('spec.identity', spec.identity, 'must be an integer 0..2^32-1');
  if (!Number.isInteger(spec.hostIfindex) || spec.hostIfindex < 0) throw new DatapathInputError('spec.hostIfindex', spec.hostIfindex, 'must be a non-negative integer');
  if (parseIp(spec.ipv4, 'spec.ipv4').family !== 4) throw new DatapathInputError('spec.ipv4', spec.ipv4, 'must be an IPv4 address');
  if (spec.ipv6 !== undefined && parseIp(spec.ipv6, 'spec.ipv6').family !== 6) throw new DatapathInputError('spec.ipv6', spec.ipv6, 'must be an IPv6 address');
}
