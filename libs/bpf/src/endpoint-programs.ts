// Each endpoint's programs (from-container, to-container, to-container-local) under
// pinDir/ep<id>/: loading with the endpoint's constants, attaching on its host veth (tcx
// links or tc filters), keeping current programs across restarts, local delivery
// registration (policy_calls), detaching.
import { existsSync, mkdirSync, readdirSync, renameSync, rmdirSync, unlinkSync } from 'node:fs';
import { DatapathInputError } from './errors.js';
import { loadEndpointObject, objectBuildId, PROGRAMS } from './endpoint-loader.js';
import { MAX_ENDPOINT_ID, type EndpointPolicyMaps } from './endpoint-policy-maps.js';
import { parseIp } from './ip-address.js';
import { closeFd, objGet, objPin, type TestRunContext, type TestRunResult } from './libbpf.js';
import { policyMapEntries, type EndpointConfig, type PolicyEntry } from './map-codecs.js';
import { rmQuiet } from './pin-files.js';
import { readPinnedProgram, type PinnedProgram } from './pinned-program.js';
import { loadedFromThisBuild } from './program-current.js';
import type { SharedMaps } from './shared-maps.js';
import { tcAttach, tcAttachedProgramId, tcDetach, type TcHook, type TcTarget } from './tc-attach.js';
import { tcxAttach, tcxLink, tcxSupported } from './tcx-attach.js';
import { testRunPinned } from './test-run.js';

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

/** How an endpoint's programs are attached. */
export type AttachMode = 'tcx' | 'tc';

/** The endpoint programs of one node. */
export class EndpointPrograms {
  /** Attach mode option (see DatapathOptions.attachMode). */
  attachMode: 'auto' | 'tcx' | 'tc' = 'auto';
  /** Local delivery of endpoints attached or loaded from now on (see DatapathOptions.localDelivery). */
  localDelivery: LocalDelivery = 'neigh';

  constructor(
    private readonly pinDir: string,
    private readonly objectPath: string,
    private readonly maps: SharedMaps,
    private readonly policy: EndpointPolicyMaps,
  ) {}

  private endpointDir(id: number): string {
    return `${this.pinDir}/ep${id}`;
  }

  /** Pin path of an endpoint's program or policy map. */
  pinPath(endpointId: number, what: EndpointProgram | 'policy'): string {
    return `${this.endpointDir(endpointId)}/${what}`;
  }

  /** Loads and pins the endpoint's programs without attaching (see Datapath.loadEndpoint). */
  load(spec: Omit<EndpointDatapathSpec, 'hostIfname'>, policy: readonly PolicyEntry[], opts: { stage?: boolean } = {}): { fromContainer: string; toContainer: string; toContainerLocal: string; created: boolean } {
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
      this.maps.clearProxyReady(spec.id);
      this.policy.dropWriter(spec.id); // a writer of an earlier map of this id would write into that map
    }
    let obj;
    try {
      obj = loadEndpointObject(this.objectPath, this.pinDir, policyPin, this.endpointConfig(spec));
      this.policy.apply(spec, policy);
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

  /** Loads, pins and attaches the endpoint's programs (see Datapath.attachEndpoint). */
  async attach(spec: EndpointDatapathSpec, policy: readonly PolicyEntry[]): Promise<{ reattached: boolean }> {
    validateSpec(spec);
    const target: TcTarget = { ifname: spec.hostIfname, netns: spec.netns };
    if (await this.attachedAndCurrent(spec, target)) {
      // Restore after a restart, or a policy change: the running programs stay.
      this.policy.apply(spec, policy);
      this.registerLocal(spec.id, this.pinPath(spec.id, 'to-container-local'));
      this.upsertEndpointIps(spec);
      return { reattached: false };
    }
    const staged = this.load(spec, policy, { stage: true });
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
      this.maps.policyCalls.delete(endpointId);
      return;
    }
    const fd = objGet(pin, `program to-container-local of endpoint ${endpointId}`);
    try {
      this.maps.policyCalls.update(endpointId, fd);
    } finally {
      closeFd(fd);
    }
  }

  /** Kernel id of the endpoint's program in policy_calls (what local senders tail-call); undefined when none. */
  localDeliveryProgramId(endpointId: number): number | undefined {
    return this.maps.policyCalls.lookup(endpointId);
  }

  /** How spec's programs are (or would be) attached under attachMode. */
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
      if (ip) this.maps.endpointsMapUpsert(ip, { endpointId: spec.id, ifindex: spec.hostIfindex, identity: spec.identity });
    }
  }

  private endpointConfig(spec: Omit<EndpointDatapathSpec, 'hostIfname'>): EndpointConfig {
    return { endpointId: spec.id, identity: spec.identity, ifindex: spec.hostIfindex, buildId: objectBuildId(this.objectPath) };
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
      if (!info || !loadedFromThisBuild(this.pinDir, info, cfg)) return false;
      const attached = tcx ? tcxLink(this.linkPin(spec.id, hook))?.progId : await tcAttachedProgramId(target, hook);
      if (attached !== info.id) return false;
    }
    return true;
  }

  /** Kernel id and .rodata of an endpoint's pinned program; undefined when not pinned. */
  pinnedProgram(endpointId: number, program: EndpointProgram): PinnedProgram | undefined {
    return readPinnedProgram(this.pinPath(endpointId, program), `program ${program} of endpoint ${endpointId}`);
  }

  /** Detaches the endpoint's programs and removes its pins and endpoints entries. Idempotent. */
  async detach(spec: { id: number; hostIfname: string; netns?: string }): Promise<void> {
    const target: TcTarget = { ifname: spec.hostIfname, netns: spec.netns };
    // Senders stop handing packets to this endpoint's programs before they go.
    if (Number.isInteger(spec.id) && spec.id >= 0 && spec.id <= MAX_ENDPOINT_ID) this.maps.policyCalls.delete(spec.id);
    if (this.attachModeOf(spec) === 'tcx') {
      for (const hook of ['ingress', 'egress'] as const) rmQuiet(this.linkPin(spec.id, hook)); // frees the tcx links
    } else if (!spec.netns || existsSync(spec.netns)) {
      await tcDetach(target, 'ingress');
      await tcDetach(target, 'egress');
    }
    for (const [k, v] of this.maps.endpoints.entries()) if (v.endpointId === spec.id) this.maps.endpoints.delete(k);
    if (Number.isInteger(spec.id) && spec.id >= 0 && spec.id <= MAX_ENDPOINT_ID) this.maps.epFlags.update(spec.id, 0);
    this.maps.clearProxyReady(spec.id);
    this.removeEndpointPins(spec.id);
  }

  private removeEndpointPins(id: number): void {
    if (Number.isInteger(id) && id >= 0 && id <= MAX_ENDPOINT_ID) this.maps.policyCalls.delete(id);
    this.policy.dropWriter(id);
    const dir = this.endpointDir(id);
    if (!existsSync(dir)) return;
    for (const f of readdirSync(dir)) rmQuiet(`${dir}/${f}`);
    try {
      rmdirSync(dir);
    } catch {
      // a concurrent pin appeared; leave the directory
    }
  }

  /** Runs one endpoint program on packet (BPF_PROG_TEST_RUN). */
  testRun(endpointId: number, program: EndpointProgram, packet: Buffer, opts: { repeat?: number; ctx?: TestRunContext } = {}): TestRunResult {
    return testRunPinned(this.pinPath(endpointId, program), `program ${program} of endpoint ${endpointId}`, packet, opts.repeat ?? 1, opts.ctx);
  }
}

function validateSpec(spec: Omit<EndpointDatapathSpec, 'hostIfname'>): void {
  if (!Number.isInteger(spec.id) || spec.id < 1 || spec.id > MAX_ENDPOINT_ID) throw new DatapathInputError('spec.id', spec.id, `must be an integer 1..${MAX_ENDPOINT_ID} (events carry it as u16)`);
  if (!Number.isInteger(spec.identity) || spec.identity < 0 || spec.identity > 0xffffffff) throw new DatapathInputError('spec.identity', spec.identity, 'must be an integer 0..2^32-1');
  if (!Number.isInteger(spec.hostIfindex) || spec.hostIfindex < 0) throw new DatapathInputError('spec.hostIfindex', spec.hostIfindex, 'must be a non-negative integer');
  if (parseIp(spec.ipv4, 'spec.ipv4').family !== 4) throw new DatapathInputError('spec.ipv4', spec.ipv4, 'must be an IPv4 address');
  if (spec.ipv6 !== undefined && parseIp(spec.ipv6, 'spec.ipv6').family !== 6) throw new DatapathInputError('spec.ipv6', spec.ipv6, 'must be an IPv6 address');
}
