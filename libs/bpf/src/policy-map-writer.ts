// The policy-map writer: keeps one endpoint's policy map equal to its policy entries,
// applying a policy diff (libs/policy PolicyDiff) exactly, without reading the map back.
import type { PolicyEntry } from '@cilium-ts/policy';
import type { BpfMap } from './bpf-map.js';
import { EndpointFlags, policyKeyId, policyMapEntries, type PolicyKey, type PolicyValue } from './map-codecs.js';

/** Entries to remove and entries to add or overwrite (an entry whose verdict changed is in both), as libs/policy's PolicyDiff. */
export interface PolicyMapDiff {
  removed: readonly PolicyEntry[];
  added: readonly PolicyEntry[];
}

/** What one write changes in the kernel map: updates first, then deletes (so a narrowing change never denies in between). */
export interface PolicyMapWrite {
  updates: Array<[PolicyKey, PolicyValue]>;
  deletes: PolicyKey[];
}

/** A map value as a number: bit 16 deny, bits 0-15 the proxy port. */
type Packed = number;
const DENY = 0x10000;
const pack = (v: PolicyValue): Packed => (v.deny ? DENY : v.proxyPort);
const unpack = (p: Packed): PolicyValue => ({ deny: (p & DENY) !== 0, proxyPort: p & DENY ? 0 : p & 0xffff });
/** Of several entries on one key: deny wins, then the highest proxy port (as policyMapEntries). */
const merge = (a: Packed, b: Packed): Packed => (a & DENY || b & DENY ? DENY : Math.max(a, b));

function entryId(e: PolicyEntry): string {
  return `${e.direction}/${e.identity}/${e.protocol}/${e.port}-${e.endPort ?? e.port}/${e.deny ? 'D' : 'A'}/${e.proxyPort ?? 0}`;
}

/** The map keys of one entry (validated unless the caller did; port ranges expanded) and its value. */
function expand(e: PolicyEntry, validated = false): { keys: PolicyKey[]; value: Packed } {
  if (validated && e.endPort === undefined) {
    return { keys: [{ direction: e.direction, identity: e.identity, protocol: e.protocol, port: e.port }], value: e.deny ? DENY : (e.proxyPort ?? 0) };
  }
  const m = policyMapEntries([e]);
  const first = m.values().next().value;
  return { keys: [...m.values()].map((x) => x.key), value: first ? pack(first.value) : 0 };
}

/**
 * One endpoint's policy map as this process wrote it: per map key the value written and,
 * for the rare key that several entries expand to (an L4 range and an L7 port inside it),
 * the value each of them gives (the first contributor is kept as ''). A diff touches only
 * its entries' keys: O(diff), no read of the kernel map. resync() is the safe path (agent
 * start, restore, attach, a write that failed): it reads the kernel map once and makes it
 * equal to a full entry list.
 */
export class PolicyMapWriter {
  private readonly written = new Map<string, Packed>();
  private readonly shared = new Map<string, Map<string, Packed>>();
  private denyKeys = { ingress: 0, egress: 0 };

  constructor(
    /** The endpoint's pinned policy map. */
    readonly map: BpfMap<PolicyKey, PolicyValue>,
  ) {}

  /** EndpointFlags deny bits of the policy as written (a direction with deny entries). */
  get denyBits(): number {
    return (this.denyKeys.ingress > 0 ? EndpointFlags.ingressDeny : 0) | (this.denyKeys.egress > 0 ? EndpointFlags.egressDeny : 0);
  }

  /** Number of map keys written. */
  get size(): number {
    return this.written.size;
  }

  /**
   * Forgets the state and plans the writes that make the kernel map (read once, in
   * batches) hold exactly entries. Throws DatapathInputError for a bad entry, before any
   * state changes.
   */
  resync(entries: readonly PolicyEntry[]): PolicyMapWrite {
    const desired = policyMapEntries(entries); // validates everything first
    this.written.clear();
    this.shared.clear();
    this.denyKeys = { ingress: 0, egress: 0 };
    for (const e of entries) this.addEntry(e, expand(e, true));
    const current = new Map<string, [PolicyKey, Packed]>();
    for (const [k, [v]] of this.map.entriesBatch(1024)) current.set(policyKeyId(k), [k, pack(v)]);
    const write: PolicyMapWrite = { updates: [], deletes: [] };
    for (const [id, { key }] of desired) {
      const want = this.written.get(id)!;
      if (current.get(id)?.[1] !== want) write.updates.push([key, unpack(want)]);
    }
    for (const [id, [k]] of current) if (!desired.has(id)) write.deletes.push(k);
    return write;
  }

  /**
   * Plans the writes of a diff against the state: only the keys of its entries. Removing
   * an entry that was never added is ignored. Throws DatapathInputError for a bad added
   * entry, before any state changes.
   */
  apply(diff: PolicyMapDiff): PolicyMapWrite {
    const added = diff.added.map((e) => [e, expand(e)] as const); // validates first
    const touched = new Map<string, PolicyKey>();
    const before = new Map<string, Packed | undefined>();
    const note = (keys: readonly PolicyKey[]): void => {
      for (const k of keys) {
        const id = policyKeyId(k);
        if (!touched.has(id)) {
          touched.set(id, k);
          before.set(id, this.written.get(id));
        }
      }
    };
    for (const e of diff.removed) {
      const x = expand(e, true); // it was validated when it was added
      note(x.keys);
      this.removeEntry(e, x);
    }
    for (const [e, x] of added) {
      note(x.keys);
      this.addEntry(e, x);
    }
    const write: PolicyMapWrite = { updates: [], deletes: [] };
    for (const [id, k] of touched) {
      const now = this.written.get(id);
      if (now === before.get(id)) continue;
      if (now === undefined) write.deletes.push(k);
      else write.updates.push([k, unpack(now)]);
    }
    return write;
  }

  private setValue(k: PolicyKey, id: string, v: Packed | undefined): void {
    const old = this.written.get(id);
    if (old !== undefined && old & DENY) this.denyKeys[k.direction]--;
    if (v === undefined) this.written.delete(id);
    else {
      this.written.set(id, v);
      if (v & DENY) this.denyKeys[k.direction]++;
    }
  }

  private addEntry(e: PolicyEntry, x: { keys: PolicyKey[]; value: Packed }): void {
    const eid = entryId(e);
    for (const k of x.keys) {
      const id = policyKeyId(k);
      const cur = this.written.get(id);
      if (cur === undefined) {
        this.setValue(k, id, x.value);
        continue;
      }
      let from = this.shared.get(id);
      if (!from) this.shared.set(id, (from = new Map([['', cur]])));
      from.set(eid, x.value);
      this.setValue(k, id, merge(cur, x.value));
    }
  }

  private removeEntry(e: PolicyEntry, x: { keys: PolicyKey[]; value: Packed }): void {
    const eid = entryId(e);
    for (const k of x.keys) {
      const id = policyKeyId(k);
      if (!this.written.has(id)) continue;
      const from = this.shared.get(id);
      if (!from) {
        this.setValue(k, id, undefined);
        continue;
      }
      // The first contributor has no id: an entry not listed by id is it.
      if (!from.delete(eid)) from.delete('');
      let v: Packed | undefined;
      for (const p of from.values()) v = v === undefined ? p : merge(v, p);
      if (from.size <= 1) this.shared.delete(id);
      this.setValue(k, id, v);
    }
  }
}
