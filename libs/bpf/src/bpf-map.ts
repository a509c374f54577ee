// Typed access to one BPF map through its fd, with key/value size checks before any
// syscall (a wrong-size buffer would make the kernel read or write past it).
import { BpfError } from './errors.js';
import { check, closeFd, mapCreate, mapInfo, mapOps, numPossibleCpus, objGet, type MapCreateSpec } from './libbpf.js';
import type { Codec } from './map-codecs.js';

/** BPF_ANY / BPF_NOEXIST / BPF_EXIST update flags. */
export const UpdateFlags = { any: 0n, noExist: 1n, exist: 2n } as const;

/** BPF map types used by this package (enum bpf_map_type). */
export const MapType = {
  hash: 1, array: 2, percpuHash: 5, percpuArray: 6, lruHash: 9, lruPercpuHash: 10, lpmTrie: 11,
  arrayOfMaps: 12, hashOfMaps: 13, ringbuf: 27,
} as const;

const PER_CPU_TYPES: ReadonlySet<number> = new Set([MapType.percpuHash, MapType.percpuArray, MapType.lruPercpuHash]);
const ENOENT = 2;
const ENOSPC = 28;
const EINVAL = 22;
const ENOTSUPP = 524;

/** A map opened by fd, with raw (Buffer) and typed (codec) operations. */
export class BpfMap<K, V> {
  /** Bytes of a value buffer as the syscall sees it (per-CPU maps: one 8-aligned slot per CPU). */
  readonly valueBytes: number;
  private fdValue: number;

  private constructor(
    /** Name used in error messages. */
    readonly name: string,
    fd: number,
    /** Kernel key_size. */
    readonly keySize: number,
    /** Kernel value_size (one CPU's slot for per-CPU maps). */
    readonly valueSize: number,
    /** Whether values are per-CPU arrays. */
    readonly perCpu: boolean,
    private readonly keyCodec: Codec<K>,
    private readonly valueCodec: Codec<V>,
  ) {
    this.fdValue = fd;
    this.valueBytes = perCpu ? Math.ceil(valueSize / 8) * 8 * numPossibleCpus() : valueSize;
  }

  /** Wraps an fd this map will own, checking the kernel's key/value sizes against the codecs. */
  static fromFd<K, V>(name: string, fd: number, keyCodec: Codec<K>, valueCodec: Codec<V>, opts: { perCpu?: boolean } = {}): BpfMap<K, V> {
    const info = mapInfo(fd, `map "${name}"`);
    if (info.keySize !== keyCodec.size || info.valueSize !== valueCodec.size) {
      closeFd(fd);
      throw new BpfError(`open map "${name}"`, 22, {
        detail: `kernel map has key_size ${info.keySize} / value_size ${info.valueSize}, this build expects ${keyCodec.size} / ${valueCodec.size}`,
        hint: 'the pinned map comes from another build of the datapath; remove the pin (or the pinDir) and open again',
      });
    }
    return new BpfMap(name, fd, info.keySize, info.valueSize, opts.perCpu ?? PER_CPU_TYPES.has(info.type), keyCodec, valueCodec);
  }

  /** Creates a new unpinned map sized by the codecs (map-in-map: pass innerMapFd; values are u32 fds). */
  static create<K, V>(spec: Omit<MapCreateSpec, 'keySize' | 'valueSize'>, keyCodec: Codec<K>, valueCodec: Codec<V>): BpfMap<K, V> {
    const fd = mapCreate({ ...spec, keySize: keyCodec.size, valueSize: valueCodec.size });
    return BpfMap.fromFd(spec.name, fd, keyCodec, valueCodec);
  }

  /** Pins the map at path (bpffs). */
  pin(path: string): void {
    check(`pin map "${this.name}" at ${path}`, mapOps.pin(this.fd, path), 'the parent directory must be on bpffs and the path unused');
  }

  /** Opens the map pinned at path. */
  static openPinned<K, V>(path: string, name: string, keyCodec: Codec<K>, valueCodec: Codec<V>, opts: { perCpu?: boolean } = {}): BpfMap<K, V> {
    return BpfMap.fromFd(name, objGet(path, `map "${name}"`), keyCodec, valueCodec, opts);
  }

  /** The map's file descriptor (owned by this object). */
  get fd(): number {
    if (this.fdValue < 0) throw new BpfError(`use map "${this.name}"`, 9, { hint: 'the map was closed' });
    return this.fdValue;
  }

  private checkKey(op: string, key: Buffer): void {
    if (key.length !== this.keySize) {
      throw new BpfError(`map ${op} "${this.name}"`, 22, {
        detail: `key is ${key.length} bytes, the map's key_size is ${this.keySize}`,
        hint: 'encode keys with the map\'s codec (map-codecs.ts) and keep it in sync with bpf/maps.h',
      });
    }
  }

  private checkValue(op: string, value: Buffer): void {
    if (value.length !== this.valueBytes) {
      throw new BpfError(`map ${op} "${this.name}"`, 22, {
        detail: `value is ${value.length} bytes, the map needs ${this.valueBytes}${this.perCpu ? ` (value_size ${this.valueSize} x ${this.valueBytes / Math.ceil(this.valueSize / 8) / 8} CPUs)` : ''}`,
        hint: 'encode values with the map\'s codec (map-codecs.ts) and keep it in sync with bpf/maps.h',
      });
    }
  }

  /** Inserts or replaces key -> value (raw bytes). */
  updateRaw(key: Buffer, value: Buffer, flags: bigint = UpdateFlags.any): void {
    this.checkKey('update', key);
    this.checkValue('update', value);
    check(`map update "${this.name}"`, mapOps.update(this.fd, key, value, flags));
  }

  /** Looks key up (raw bytes); undefined when absent. */
  lookupRaw(key: Buffer): Buffer | undefined {
    this.checkKey('lookup', key);
    const value = Buffer.alloc(this.valueBytes);
    const ret = mapOps.lookup(this.fd, key, value);
    if (ret === -2) return undefined;
    check(`map lookup "${this.name}"`, ret);
    return value;
  }

  /** Deletes key (raw bytes); false when it was absent. */
  deleteRaw(key: Buffer): boolean {
    this.checkKey('delete', key);
    const ret = mapOps.delete(this.fd, key);
    if (ret === -2) return false;
    check(`map delete "${this.name}"`, ret);
    return true;
  }

  /** All keys (raw bytes), by walking get_next_key. */
  keysRaw(): Buffer[] {
    const out: Buffer[] = [];
    let prev: Buffer | null = null;
    for (;;) {
      const next = Buffer.alloc(this.keySize);
      const ret = mapOps.nextKey(this.fd, prev, next);
      if (ret === -2) return out;
      check(`map iterate "${this.name}"`, ret);
      out.push(next);
      prev = next;
    }
  }

  /** Inserts or replaces key -> value. */
  update(key: K, value: V, flags: bigint = UpdateFlags.any): void {
    if (this.perCpu) throw new BpfError(`map update "${this.name}"`, 22, { hint: 'per-CPU maps take one value per CPU: use updateRaw' });
    this.updateRaw(this.keyCodec.encode(key), this.valueCodec.encode(value), flags);
  }

  /** Per-CPU maps: sets key to one value per CPU (values.length must be the possible CPU count). */
  updatePerCpu(key: K, values: readonly V[], flags: bigint = UpdateFlags.any): void {
    this.updateRaw(this.keyCodec.encode(key), this.encodeSlots(values), flags);
  }

  private encodeSlots(values: readonly V[]): Buffer {
    const slot = Math.ceil(this.valueSize / 8) * 8;
    const cpus = this.valueBytes / slot;
    if (values.length !== cpus) {
      throw new BpfError(`map update "${this.name}"`, EINVAL, { detail: `${values.length} per-CPU values given, the map has ${cpus} CPU slots`, hint: 'pass one value per possible CPU (numPossibleCpus())' });
    }
    const b = Buffer.alloc(this.valueBytes);
    values.forEach((v, i) => this.valueCodec.encode(v).copy(b, i * slot));
    return b;
  }

  /**
   * All entries, read batchSize at a time with BPF_MAP_LOOKUP_BATCH (one syscall per
   * batch); maps without batch support (LPM trie, arrays of maps) are walked key by key.
   * Per-CPU maps yield each CPU's value.
   */
  entriesBatch(batchSize = 256): Array<[K, V[]]> {
    const raw = this.entriesBatchRaw(batchSize);
    return raw.map(([k, v]) => [this.keyCodec.decode(k), this.perCpu ? this.splitSlots(v) : [this.valueCodec.decode(v)]]);
  }

  /** Raw form of entriesBatch: [key, value] buffers. */
  entriesBatchRaw(batchSize = 256): Array<[Buffer, Buffer]> {
    const out: Array<[Buffer, Buffer]> = [];
    let size = Math.max(1, batchSize);
    let inTok: Buffer | null = null;
    const tokLen = Math.max(this.keySize, 8);
    for (;;) {
      const outTok = Buffer.alloc(tokLen);
      const keys = Buffer.alloc(this.keySize * size);
      const values = Buffer.alloc(this.valueBytes * size);
      const count = new Uint32Array([size]);
      const ret = mapOps.lookupBatch(this.fd, inTok, outTok, keys, values, count);
      if (out.length === 0 && inTok === null && (ret === -EINVAL || ret === -ENOTSUPP)) {
        return this.keysRaw().flatMap((k) => {
          const v = this.lookupRaw(k);
          return v === undefined ? [] : [[k, v] as [Buffer, Buffer]];
        });
      }
      if (ret === -ENOSPC && count[0] === 0) {
        size *= 2; // one hash bucket holds more entries than the batch
        continue;
      }
      if (ret < 0 && ret !== -ENOENT) check(`map lookup batch "${this.name}"`, ret);
      for (let i = 0; i < count[0]; i++) {
        out.push([Buffer.from(keys.subarray(i * this.keySize, (i + 1) * this.keySize)), Buffer.from(values.subarray(i * this.valueBytes, (i + 1) * this.valueBytes))]);
      }
      if (ret === -ENOENT) return out;
      inTok = outTok;
    }
  }

  /** Inserts or replaces many entries with one BPF_MAP_UPDATE_BATCH syscall per 4096. */
  updateBatch(entries: ReadonlyArray<readonly [K, V]>, flags: bigint = UpdateFlags.any): void {
    if (this.perCpu) throw new BpfError(`map update batch "${this.name}"`, EINVAL, { hint: 'per-CPU maps take one value per CPU: use updatePerCpu' });
    for (let off = 0; off < entries.length; off += 4096) {
      const chunk = entries.slice(off, off + 4096);
      const keys = Buffer.concat(chunk.map(([k]) => this.checked('update batch', this.keyCodec.encode(k), this.keySize)));
      const values = Buffer.concat(chunk.map(([, v]) => this.checked('update batch', this.valueCodec.encode(v), this.valueBytes)));
      const count = new Uint32Array([chunk.length]);
      check(`map update batch "${this.name}" (${count[0]} of ${chunk.length} done)`, mapOps.updateBatch(this.fd, keys, values, count, flags));
    }
  }

  /** Deletes many keys (raw bytes) with BPF_MAP_DELETE_BATCH; returns how many were deleted. Absent keys stop a batch, so they are skipped one by one. */
  deleteBatchRaw(keys: readonly Buffer[]): number {
    let deleted = 0;
    let off = 0;
    while (off < keys.length) {
      const chunk = keys.slice(off, off + 4096);
      const count = new Uint32Array([chunk.length]);
      const ret = mapOps.deleteBatch(this.fd, Buffer.concat(chunk.map((k) => this.checked('delete batch', k, this.keySize))), count);
      deleted += count[0];
      off += count[0];
      if (ret === -ENOENT) off++; // the key at off was already gone
      else if (ret < 0) check(`map delete batch "${this.name}"`, ret);
    }
    return deleted;
  }

  /** Deletes many keys; returns how many were deleted. */
  deleteBatch(keys: readonly K[]): number {
    return this.deleteBatchRaw(keys.map((k) => this.keyCodec.encode(k)));
  }

  private checked(op: string, b: Buffer, size: number): Buffer {
    if (b.length !== size) throw new BpfError(`map ${op} "${this.name}"`, EINVAL, { detail: `buffer is ${b.length} bytes, expected ${size}`, hint: 'encode with the map\'s codec' });
    return b;
  }

  /** Looks key up; undefined when absent. */
  lookup(key: K): V | undefined {
    const raw = this.lookupRaw(this.keyCodec.encode(key));
    return raw === undefined ? undefined : this.valueCodec.decode(raw);
  }

  /** Per-CPU maps: the value of each CPU. */
  lookupPerCpu(key: K): V[] | undefined {
    const raw = this.lookupRaw(this.keyCodec.encode(key));
    return raw === undefined ? undefined : this.splitSlots(raw);
  }

  private splitSlots(raw: Buffer): V[] {
    const slot = Math.ceil(this.valueSize / 8) * 8;
    const out: V[] = [];
    for (let off = 0; off + slot <= raw.length; off += slot) out.push(this.valueCodec.decode(raw.subarray(off, off + this.valueSize)));
    return out;
  }

  /** Deletes key; false when it was absent. */
  delete(key: K): boolean {
    return this.deleteRaw(this.keyCodec.encode(key));
  }

  /** All entries (entries deleted during the walk are skipped). */
  entries(): Array<[K, V]> {
    const out: Array<[K, V]> = [];
    for (const k of this.keysRaw()) {
      const v = this.lookupRaw(k);
      if (v !== undefined && !this.perCpu) out.push([this.keyCodec.decode(k), this.valueCodec.decode(v)]);
    }
    return out;
  }

  /** Per-CPU maps: all entries with each CPU's value. */
  entriesPerCpu(): Array<[K, V[]]> {
    const out: Array<[K, V[]]> = [];
    for (const k of this.keysRaw()) {
      const v = this.lookupRaw(k);
      if (v !== undefined) out.push([this.keyCodec.decode(k), this.splitSlots(v)]);
    }
    return out;
  }

  /** Closes the fd; pinned maps stay in the kernel. */
  close(): void {
    closeFd(this.fdValue);
    this.fdValue = -1;
  }
}
