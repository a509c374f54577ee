// Datapath facade: the agent's one entry point to the kernel datapath. Shared maps live
// at pinDir/<map>; each endpoint's policy map and programs at pinDir/ep<id>/. The parts:
// endpoint-programs.ts (load / attach / detach an endpoint's programs), endpoint-policy-maps.ts
// (policy maps and ep_flags, through policy-map-writer.ts), overlay-program.ts (tunnel
// settings, from-overlay), shared-maps.ts (ipcache, endpoints, conntrack, metrics,
// proxy_ready), test-run.ts (BPF_PROG_TEST_RUN).
import { existsSync, mkdirSync } from 'node:fs';
import { DEFAULT_CT_TIMEOUTS, type CtTimeouts } from './ct-gc.js';
import { BpfError, DatapathInputError } from './errors.js';
import type { EventReader } from './event-reader.js';
import { defaultObjectPath, ensureSharedMaps } from './endpoint-loader.js';
import { EndpointPolicyMaps } from './endpoint-policy-maps.js';
import { EndpointPrograms, type AttachMode, type EndpointDatapathSpec, type EndpointProgram, type LocalDelivery } from './endpoint-programs.js';
import { isBpffs, redirectPeerSupported } from './features.js';
import type { TestRunContext, TestRunResult } from './libbpf.js';
import type { EndpointInfo, PolicyEntry } from './map-codecs.js';
import { OverlayProgram, type OverlayAttachResult } from './overlay-program.js';
import { removePinTree } from './pin-files.js';
import type { PinnedProgram } from './pinned-program.js';
import type { PolicyMapDiff } from './policy-map-writer.js';
import type { ProxyReadyKey, ProxyReadyValue } from './proxy-ready.js';
import { SharedMaps, type CtEntry, type CtGcResult, type MetricsEntry } from './shared-maps.js';
import type { TcTarget } from './tc-attach.js';
import type { TunnelConfig } from './tunnel-config.js';

export type { AttachMode, EndpointDatapathSpec, EndpointProgram, LocalDelivery } from './endpoint-programs.js';
export type { OverlayAttachResult } from './overlay-program.js';
export type { CtEntry, CtGcResult, MetricsEntry } from './shared-maps.js';

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

/** The kernel datapath of one node: shared maps, per-endpoint programs and policy maps. */
export class Datapath {
  private closed = false;
  /** CT lifetimes used by ctGc. */
  ctTimeouts: CtTimeouts = DEFAULT_CT_TIMEOUTS;
  private stopGc?: () => void;
  /** Shared maps found pinned with another build's layout and replaced by Datapath.open. */
  replacedMaps: string[] = [];
  private readonly policy: EndpointPolicyMaps;
  private readonly programs: EndpointPrograms;
  private readonly overlay: OverlayProgram;

  private constructor(
    /** bpffs directory of this node's pins. */
    readonly pinDir: string,
    /** The compiled object loaded per endpoint. */
    readonly objectPath: string,
    private readonly maps: SharedMaps,
  ) {
    this.policy = new EndpointPolicyMaps(maps.epFlags, (id) => this.pinPath(id, 'policy'));
    this.programs = new EndpointPrograms(pinDir, objectPath, maps, this.policy);
    this.overlay = new OverlayProgram(pinDir, objectPath);
  }

  /** Attach mode option (see DatapathOptions.attachMode). */
  get attachMode(): 'auto' | 'tcx' | 'tc' {
    return this.programs.attachMode;
  }

  set attachMode(mode: 'auto' | 'tcx' | 'tc') {
    this.programs.attachMode = mode;
  }

  /** Local delivery of endpoints attached or loaded from now on (see DatapathOptions.localDelivery). */
  get localDelivery(): LocalDelivery {
    return this.programs.localDelivery;
  }

  set localDelivery(mode: LocalDelivery) {
    this.programs.localDelivery = mode;
  }

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
    const maps = SharedMaps.open(opts.pinDir);
    try {
      const dp = new Datapath(opts.pinDir, objectPath, maps);
      dp.localDelivery = opts.localDelivery ?? (redirectPeerSupported() ? 'peer' : 'neigh');
      dp.ctTimeouts = { ...DEFAULT_CT_TIMEOUTS, ...opts.ctTimeouts };
      dp.attachMode = opts.attachMode ?? 'auto';
      dp.replacedMaps = replaced;
      const gcMs = opts.ctGcIntervalMs ?? 30_000;
      if (gcMs > 0) dp.stopGc = dp.startCtGc(gcMs, opts.onCtGc);
      return dp;
    } catch (err) {
      maps.close();
      throw err;
    }
  }

  private live(op: string): void {
    if (this.closed) throw new BpfError(op, 9, { hint: 'the Datapath was closed; open a new one' });
  }

  /** Pin path of an endpoint's program or policy map. */
  pinPath(endpointId: number, what: EndpointProgram | 'policy'): string {
    return this.programs.pinPath(endpointId, what);
  }

  /**
   * Loads the endpoint's programs with its constants, fills its policy map, and pins
   * everything under pinDir/ep<id>/ without attaching. Returns the pins of the new
   * programs (suffix "-new" when staged for an attach). On failure leaves nothing new behind.
   */
  loadEndpoint(spec: Omit<EndpointDatapathSpec, 'hostIfname'>, policy: readonly PolicyEntry[], opts: { stage?: boolean } = {}): { fromContainer: string; toContainer: string; toContainerLocal: string; created: boolean } {
    this.live(`load endpoint ${spec.id}`);
    return this.programs.load(spec, policy, opts);
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
    return this.programs.attach(spec, policy);
  }

  /** Kernel id of the endpoint's program in policy_calls (what local senders tail-call); undefined when none. */
  localDeliveryProgramId(endpointId: number): number | undefined {
    this.live(`read policy_calls of endpoint ${endpointId}`);
    return this.programs.localDeliveryProgramId(endpointId);
  }

  /** How spec's programs are (or would be) attached under this Datapath's attachMode. */
  attachModeOf(spec: { netns?: string }): AttachMode {
    return this.programs.attachModeOf(spec);
  }

  /** Kernel ids of the programs attached at the endpoint's hooks (tcx links or tc filters). */
  async attachedProgramIds(spec: { id: number; hostIfname: string; netns?: string }): Promise<{ mode: AttachMode; ingress?: number; egress?: number }> {
    return this.programs.attachedProgramIds(spec);
  }

  /**
   * Turns the endpoint's datapath debug messages on or off (Cilium's endpoint Debug
   * option): its programs emit EventType.debug records (CT lookups, policy decisions,
   * local delivery, encap / decap) into the events ring. Takes effect for the next
   * packet; kept across policy changes and attach, cleared by detachEndpoint.
   */
  setEndpointDebug(endpointId: number, on: boolean): void {
    this.live(`set debug of endpoint ${endpointId}`);
    this.policy.setDebug(endpointId, on);
  }

  /** Whether the endpoint's datapath debug messages are on. */
  endpointDebug(endpointId: number): boolean {
    this.live(`read debug of endpoint ${endpointId}`);
    return this.policy.debug(endpointId);
  }

  /** Enforcement flags of an endpoint as the programs see them. */
  enforcement(endpointId: number): { ingress: boolean; egress: boolean } {
    this.live(`read enforcement of endpoint ${endpointId}`);
    return this.policy.enforcement(endpointId);
  }

  /** Kernel id and .rodata of an endpoint's pinned program; undefined when not pinned. */
  pinnedProgram(endpointId: number, program: EndpointProgram): PinnedProgram | undefined {
    return this.programs.pinnedProgram(endpointId, program);
  }

  /**
   * Replaces the endpoint's policy with policy: the safe resync path (reads the kernel map
   * once and writes only the entries that differ), for restore and full recomputes.
   */
  updatePolicy(endpointId: number, policy: readonly PolicyEntry[]): void {
    this.live(`update policy of endpoint ${endpointId}`);
    this.policy.update(endpointId, policy);
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
    this.policy.applyDiff(endpointId, diff);
  }

  /** The endpoint's policy map, one entry per map key (port ranges appear per port). */
  policyList(endpointId: number): PolicyEntry[] {
    this.live(`list policy of endpoint ${endpointId}`);
    return this.policy.list(endpointId);
  }

  /** Detaches the endpoint's programs and removes its pins and endpoints entries. Idempotent. */
  async detachEndpoint(spec: { id: number; hostIfname: string; netns?: string }): Promise<void> {
    this.live(`detach endpoint ${spec.id}`);
    await this.programs.detach(spec);
  }

  /**
   * Marks the L7 proxy listener proxyPort as ready for the endpoint: from the next packet,
   * traffic its policy redirects to proxyPort goes to target (see ProxyReadyValue) instead
   * of being dropped with DropReason.noConfig. Only for whoever runs the proxy, once it has
   * confirmed it holds the endpoint's rules (no agent API writes it yet: no proxy exists).
   */
  proxyReadySet(endpointId: number, proxyPort: number, target: ProxyReadyValue): void {
    this.live(`mark proxy ${proxyPort} ready for endpoint ${endpointId}`);
    this.maps.proxyReadySet(endpointId, proxyPort, target);
  }

  /** Withdraws a proxy_ready entry (its traffic drops again); false when absent. */
  proxyReadyDelete(endpointId: number, proxyPort: number): boolean {
    this.live(`withdraw proxy ${proxyPort} of endpoint ${endpointId}`);
    return this.maps.proxyReadyDelete(endpointId, proxyPort);
  }

  /** The proxy_ready entries. */
  proxyReadyList(): Array<ProxyReadyKey & ProxyReadyValue> {
    this.live('list proxy_ready');
    return this.maps.proxyReadyList();
  }

  /** Runs one endpoint program on packet (BPF_PROG_TEST_RUN, repeat times, starting from ctx's skb mark / cb); retval 0 = TC_ACT_OK, 2 = TC_ACT_SHOT. */
  testRun(endpointId: number, program: EndpointProgram, packet: Buffer, opts: { repeat?: number; ctx?: TestRunContext } = {}): TestRunResult {
    this.live(`test-run ${program} of endpoint ${endpointId}`);
    return this.programs.testRun(endpointId, program, packet, opts);
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
    this.overlay.setTunnel(cfg);
  }

  /** The tunnel settings in the datapath, undefined in native routing. */
  tunnel(): TunnelConfig | undefined {
    this.live('read tunnel mode');
    return this.overlay.tunnel();
  }

  /** Pin path of the from-overlay program. */
  overlayPin(): string {
    return this.overlay.pin();
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
    return this.overlay.attach(target);
  }

  /** Detaches from-overlay from target and removes its pin; succeeds when already gone. */
  async detachOverlay(target: TcTarget): Promise<void> {
    this.live(`detach from-overlay from ${target.ifname}`);
    await this.overlay.detach(target);
  }

  /** Runs the pinned from-overlay program on packet (BPF_PROG_TEST_RUN). */
  testRunOverlay(packet: Buffer): TestRunResult {
    this.live('test-run from-overlay');
    return this.overlay.testRun(packet);
  }

  /** Maps cidr (or a bare IP) to identity, and the node hosting it. */
  ipcacheUpsert(cidr: string, identity: number, hostIp?: string): void {
    this.live('ipcache upsert');
    this.maps.ipcacheUpsert(cidr, identity, hostIp);
  }

  /** Removes cidr from the ipcache; false when absent. */
  ipcacheDelete(cidr: string): boolean {
    this.live('ipcache delete');
    return this.maps.ipcacheDelete(cidr);
  }

  /** All ipcache entries. */
  ipcacheList(): Array<{ cidr: string; identity: number; hostIp?: string }> {
    this.live('ipcache list');
    return this.maps.ipcacheList();
  }

  /** Registers a local endpoint's address (events report it as dst_endpoint). */
  endpointsMapUpsert(ip: string, info: EndpointInfo): void {
    this.live('endpoints upsert');
    this.maps.endpointsMapUpsert(ip, info);
  }

  /** Removes a local endpoint's address; false when absent. */
  endpointsMapDelete(ip: string): boolean {
    this.live('endpoints delete');
    return this.maps.endpointsMapDelete(ip);
  }

  /** All local endpoint addresses. */
  endpointsMapList(): Array<{ ip: string } & EndpointInfo> {
    this.live('endpoints list');
    return this.maps.endpointsMapList();
  }

  /** A new reader of the shared event ring buffer; close it when done. */
  events(opts: { pollMs?: number } = {}): EventReader {
    this.live('read events');
    return this.maps.events(opts);
  }

  /** Connection tracking entries. */
  ctList(): CtEntry[] {
    this.live('ct list');
    return this.maps.ctList();
  }

  /** Removes every connection tracking entry (e.g. after a policy change that must cut replies). */
  ctFlush(): number {
    this.live('ct flush');
    return this.maps.ctFlush();
  }

  /**
   * Removes expired CT entries: closing TCP (FIN/RST seen) after ctTimeouts.tcpClose,
   * unanswered SYNs after tcpSyn, established TCP after tcpEstablished, others after
   * nonTcp seconds without a packet. nowNs is CLOCK_MONOTONIC (bpf_ktime_get_ns's clock).
   */
  ctGc(nowNs: bigint = process.hrtime.bigint()): CtGcResult {
    this.live('ct gc');
    return this.maps.ctGc(nowNs, this.ctTimeouts);
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
    return this.maps.metricsList();
  }

  /** Records lost because the ring buffer was full, summed over CPUs. */
  eventsLost(): bigint {
    return this.maps.eventsLost();
  }

  /** Closes this process's fds; pinned maps and attached programs stay in the kernel. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopGc?.();
    this.policy.close();
    this.maps.close();
  }

  /** Removes every pin under pinDir (shared maps and all endpoints); attached programs keep running until detached. */
  static removePins(pinDir: string): void {
    removePinTree(pinDir);
  }
}
