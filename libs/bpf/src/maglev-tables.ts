// The datapath's Maglev lookup tables (bpf/lb-select.h): per service an array of
// `tableSize` backend ids, computed by libs/loadbalancer's maglevTable over the service's
// active backends (keyed by `ip:port`, so every node computes the same table), created as
// a new inner map and swapped into lb4_maglev / lb6_maglev (keyed by the rev-NAT index =
// service id) in one update: a connection sees the old table or the new one, never a mix.
import { maglevTable } from '@cilium-ts/loadbalancer';
import { BpfMap, MapType } from './bpf-map.js';
import { DatapathInputError } from './errors.js';
import { mapFdById } from './libbpf.js';
import { u32, type Codec } from './map-codecs.js';

/** BPF_F_INNER_MAP: inner arrays may differ in size from the object's template. */
export const BPF_F_INNER_MAP = 1 << 12;

/** An active backend of a service as its Maglev table sees it. */
export interface MaglevTableBackend {
  /** The backend's id in lb4_backends / lb6_backends. */
  id: number;
  /** Stable key: `ip:port`. */
  key: string;
  weight: number;
}

/** The backend ids of a service's table: slot i holds the id of the backend owning it. */
export function maglevBackendIds(backends: readonly MaglevTableBackend[], tableSize: number): Uint32Array {
  const table = maglevTable(backends.map((b) => ({ key: b.key, weight: b.weight })), tableSize);
  const ids = new Uint32Array(tableSize);
  for (let i = 0; i < tableSize; i++) ids[i] = table[i]! < 0 ? 0 : backends[table[i]!]!.id;
  return ids;
}

/** Writes and removes the tables of one family's outer map. */
export class MaglevTables {
  constructor(
    private readonly outer: BpfMap<number, number>,
    readonly tableSize: number,
  ) {}

  /** Replaces the table of service `id` (no active backend: the table is removed). */
  write(id: number, backends: readonly MaglevTableBackend[]): void {
    if (backends.length === 0) {
      this.outer.delete(id);
      return;
    }
    if (backends.length > this.tableSize) {
      throw new DatapathInputError('backends', String(backends.length), `more active backends than the Maglev table has slots (${this.tableSize})`);
    }
    const ids = maglevBackendIds(backends, this.tableSize);
    const inner = BpfMap.create({ type: MapType.array, name: `lb_maglev_${id}`, maxEntries: this.tableSize, flags: BPF_F_INNER_MAP }, u32, u32);
    try {
      inner.updateBatch(Array.from(ids, (v, i) => [i, v] as const));
      this.outer.update(id, inner.fd);
    } finally {
      inner.close(); // the outer map holds it now
    }
  }

  /** Removes the table of service `id` (idempotent). */
  delete(id: number): void {
    this.outer.delete(id);
  }

  /** The table of service `id` as backend ids (undefined: none), for tests and dumps. */
  read(id: number): Uint32Array | undefined {
    const innerId = this.outer.lookup(id);
    if (innerId === undefined) return undefined;
    const inner = BpfMap.fromFd(`lb_maglev_${id}`, mapFdById(innerId), u32, u32);
    try {
      const out = new Uint32Array(this.tableSize);
      for (const [k, v] of inner.entries()) if (k < out.length) out[k] = v;
      return out;
    } finally {
      inner.close();
    }
  }

  /** Closes the outer map's fd (pinned maps stay). */
  close(): void {
    this.outer.close();
  }

  /** Service ids with a table. */
  ids(): number[] {
    return this.outer.keysRaw().map((k) => k.readUInt16LE(0));
  }
}

/** Key codec of the outer maps: the rev-NAT index (u16). */
export const maglevOuterKey: Codec<number> = {
  size: 2,
  encode(v) { const b = Buffer.alloc(2); b.writeUInt16LE(v); return b; },
  decode(b) { return b.readUInt16LE(0); },
};
