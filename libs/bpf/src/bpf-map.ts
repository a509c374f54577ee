// Typed access to one BPF map through its fd, with key/value size checks before any
// syscall (a wrong-size buffer would make the kernel read or write past it).
import { BpfError } from './errors.js';
import { check, closeFd, mapInfo, mapOps, numPossibleCpus, objGet } from './libbpf.js';
import type { Codec } from './map-codecs.js';

/** BPF_ANY / BPF_NOEXIST / BPF_EXIST update flags. */
export const UpdateFlags = { any: 0n, noExist: 1n, exist: 2n } as const;

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
    return new BpfMap(name, fd, info.keySize, info.valueSize, opts.perCpu ?? false, keyCodec, valueCodec);
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
