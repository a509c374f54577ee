// Each endpoint's policy map (pinDir/ep<id>/policy) and its flags in ep_flags (enforcement,
// deny bits, debug): written through one PolicyMapWriter per endpoint, in the order that
// never opens a gap.
import { BpfMap } from './bpf-map.js';
import { DatapathInputError } from './errors.js';
import { EndpointFlags, policyKey, policyValue, type PolicyEntry } from './map-codecs.js';
import { PolicyMapWriter, type PolicyMapDiff, type PolicyMapWrite } from './policy-map-writer.js';

/** Largest endpoint id (events carry it as u16). */
export const MAX_ENDPOINT_ID = 0xffff;

/** The enforcement an endpoint's policy is written with. */
export interface PolicyEnforcement { id: number; ingressEnforced: boolean; egressEnforced: boolean }

/** The policy maps and ep_flags words of a node's endpoints. */
export class EndpointPolicyMaps {
  private readonly writers = new Map<number, PolicyMapWriter>();

  constructor(
    private readonly epFlags: BpfMap<number, number>,
    /** Pin path of an endpoint's policy map. */
    private readonly policyPin: (endpointId: number) => string,
  ) {}

  /**
   * Writes the policy map and the enforcement flags in the order that never opens a
   * gap: enforcement is switched on only after the map is complete, and off before
   * the map is emptied.
   */
  apply(spec: PolicyEnforcement, policy: readonly PolicyEntry[]): void {
    const enforce = (spec.ingressEnforced ? EndpointFlags.ingressEnforced : 0) | (spec.egressEnforced ? EndpointFlags.egressEnforced : 0);
    const writer = this.writer(spec.id, false);
    this.commit(spec.id, writer, writer.resync(policy), enforce);
  }

  /** Replaces the endpoint's policy, keeping its enforcement (reads the map once). */
  update(endpointId: number, policy: readonly PolicyEntry[]): void {
    const writer = this.writer(endpointId, false);
    this.commit(endpointId, writer, writer.resync(policy));
  }

  /** Applies a policy diff to the endpoint's map, writing exactly the keys it changes. */
  applyDiff(endpointId: number, diff: PolicyMapDiff): void {
    const writer = this.writer(endpointId, true);
    this.commit(endpointId, writer, writer.apply(diff));
  }

  /**
   * Syncs the policy map between two ep_flags writes: before, enforcement may only go
   * off and the deny bits only on; after, both take their new values. So no packet is
   * checked against a half-written map while enforced, and none skips a deny entry.
   * enforce undefined keeps the current enforcement.
   */
  private commit(endpointId: number, writer: PolicyMapWriter, write: PolicyMapWrite, enforce?: number): void {
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
   * The endpoint's policy-map writer. known: the caller relies on the state of earlier
   * writes; without a writer one is made from the kernel map as it is (a diff is then
   * applied to what the map holds).
   */
  private writer(endpointId: number, known: boolean): PolicyMapWriter {
    let w = this.writers.get(endpointId);
    if (!w) {
      const map = BpfMap.openPinned(this.policyPin(endpointId), `policy of endpoint ${endpointId}`, policyKey, policyValue);
      w = new PolicyMapWriter(map);
      if (known) w.resync(map.entries().map(([k, v]) => ({ direction: k.direction, identity: k.identity, protocol: k.protocol, port: k.port, deny: v.deny, ...(v.proxyPort ? { proxyPort: v.proxyPort } : {}) })));
      this.writers.set(endpointId, w);
    }
    return w;
  }

  /** Forgets the endpoint's writer (its map was removed or replaced). */
  dropWriter(endpointId: number): void {
    this.writers.get(endpointId)?.map.close();
    this.writers.delete(endpointId);
  }

  /** The endpoint's policy map, one entry per map key (port ranges appear per port). */
  list(endpointId: number): PolicyEntry[] {
    return this.writer(endpointId, false).map.entries().map(([k, v]) => ({
      direction: k.direction, identity: k.identity, protocol: k.protocol, port: k.port, deny: v.deny,
      ...(v.proxyPort ? { proxyPort: v.proxyPort } : {}),
    }));
  }

  /** Turns the endpoint's datapath debug messages on or off (see Datapath.setEndpointDebug). */
  setDebug(endpointId: number, on: boolean): void {
    if (!Number.isInteger(endpointId) || endpointId < 1 || endpointId > MAX_ENDPOINT_ID) throw new DatapathInputError('endpointId', endpointId, `must be an integer 1..${MAX_ENDPOINT_ID}`);
    const current = this.epFlags.lookup(endpointId) ?? 0;
    this.epFlags.update(endpointId, on ? current | EndpointFlags.debug : current & ~EndpointFlags.debug);
  }

  /** Whether the endpoint's datapath debug messages are on. */
  debug(endpointId: number): boolean {
    return ((this.epFlags.lookup(endpointId) ?? 0) & EndpointFlags.debug) !== 0;
  }

  /** Enforcement flags of an endpoint as the programs see them. */
  enforcement(endpointId: number): { ingress: boolean; egress: boolean } {
    const f = this.epFlags.lookup(endpointId) ?? 0;
    return { ingress: (f & EndpointFlags.ingressEnforced) !== 0, egress: (f & EndpointFlags.egressEnforced) !== 0 };
  }

  /** Closes the writers' map fds. */
  close(): void {
    for (const w of this.writers.values()) w.map.close();
    this.writers.clear();
  }
}
