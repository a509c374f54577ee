// The only file that talks to libbpf: Debian's libbpf.so.1 through koffi (FFI).
// Every function returns plain numbers / bigint pointers; callers wrap them in classes.
import koffi, { type LibraryHandle, type TypeObject } from 'koffi';
import { isMainThread } from 'node:worker_threads';
import { BpfError, BpfLoadError } from './errors.js';

/** An opaque native pointer as koffi 3 returns it (0n / null = NULL). */
export type Ptr = bigint;

interface Raw {
  openFile(path: string, opts: null): Ptr | null;
  objectLoad(obj: Ptr): number;
  objectClose(obj: Ptr): void;
  findMap(obj: Ptr, name: string): Ptr | null;
  findProgram(obj: Ptr, name: string): Ptr | null;
  nextProgram(obj: Ptr, prog: Ptr | null): Ptr | null;
  nextMap(obj: Ptr, map: Ptr | null): Ptr | null;
  programName(prog: Ptr): string;
  programFd(prog: Ptr): number;
  programSetAutoload(prog: Ptr, on: boolean): number;
  mapName(map: Ptr): string;
  mapFd(map: Ptr): number;
  mapType(map: Ptr): number;
  mapKeySize(map: Ptr): number;
  mapValueSize(map: Ptr): number;
  mapMaxEntries(map: Ptr): number;
  mapSetPinPath(map: Ptr, path: string): number;
  mapSetInitialValue(map: Ptr, data: Buffer, size: number): number;
  mapInitialValue(map: Ptr, size: BigUint64Array): Ptr | null;
  objGet(path: string): number;
  mapFdById(id: number): number;
  linkCreate(progFd: number, targetFd: number, attachType: number, opts: null): number;
  linkUpdate(linkFd: number, newProgFd: number, opts: null): number;
  mapCreate(type: number, name: string | null, keySize: number, valueSize: number, maxEntries: number, opts: Buffer | null): number;
  lookupBatch(fd: number, inBatch: Buffer | null, outBatch: Buffer, keys: Buffer, values: Buffer, count: Uint32Array, opts: null): number;
  updateBatch(fd: number, keys: Buffer, values: Buffer, count: Uint32Array, opts: Buffer | null): number;
  deleteBatch(fd: number, keys: Buffer, count: Uint32Array, opts: null): number;
  objPin(fd: number, path: string): number;
  mapUpdate(fd: number, key: Buffer, value: Buffer, flags: bigint): number;
  mapLookup(fd: number, key: Buffer, value: Buffer): number;
  mapDelete(fd: number, key: Buffer): number;
  mapNextKey(fd: number, key: Buffer | null, next: Buffer): number;
  objInfo(fd: number, info: Buffer, len: Uint32Array): number;
  testRun(fd: number, opts: Buffer): number;
  ringNew(fd: number, cb: bigint, ctx: null, opts: null): Ptr | null;
  ringPoll(rb: Ptr, timeoutMs: number): number;
  ringFree(rb: Ptr): void;
  probeMapType(type: number, opts: null): number;
  probeProgType(type: number, opts: null): number;
  probeHelper(progType: number, helperId: number, opts: null): number;
  numPossibleCpus(): number;
  setPrint(fn: bigint | null): bigint | null;
  close(fd: number): number;
}

let raw: Raw | undefined;
let sampleProto: TypeObject | undefined;
const logLines: string[] = [];
let capturing = false;

/** Loads libbpf.so.1 and declares the functions used (once per thread). */
function lib(): Raw {
  if (raw) return raw;
  let so: LibraryHandle;
  try {
    so = koffi.load('libbpf.so.1');
  } catch (err) {
    throw new BpfError('load libbpf.so.1', 2, { cause: err, hint: 'install Debian package libbpf1 (apt-get install libbpf1)' });
  }
  const libc = koffi.load('libc.so.6');
  sampleProto = koffi.proto('int cts_ring_sample(void *ctx, void *data, size_t size)');
  const printProto = koffi.proto('int cts_libbpf_print(int level, void *fmt, void *args)');
  const f = (decl: string) => so.func(decl);
  raw = {
    openFile: f('void *bpf_object__open_file(const char *path, void *opts)'),
    objectLoad: f('int bpf_object__load(void *obj)'),
    objectClose: f('void bpf_object__close(void *obj)'),
    findMap: f('void *bpf_object__find_map_by_name(void *obj, const char *name)'),
    findProgram: f('void *bpf_object__find_program_by_name(void *obj, const char *name)'),
    nextProgram: f('void *bpf_object__next_program(void *obj, void *prog)'),
    nextMap: f('void *bpf_object__next_map(void *obj, void *map)'),
    programName: f('const char *bpf_program__name(void *prog)'),
    programFd: f('int bpf_program__fd(void *prog)'),
    programSetAutoload: f('int bpf_program__set_autoload(void *prog, bool autoload)'),
    mapName: f('const char *bpf_map__name(void *map)'),
    mapFd: f('int bpf_map__fd(void *map)'),
    mapType: f('int bpf_map__type(void *map)'),
    mapKeySize: f('uint32_t bpf_map__key_size(void *map)'),
    mapValueSize: f('uint32_t bpf_map__value_size(void *map)'),
    mapMaxEntries: f('uint32_t bpf_map__max_entries(void *map)'),
    mapSetPinPath: f('int bpf_map__set_pin_path(void *map, const char *path)'),
    mapSetInitialValue: f('int bpf_map__set_initial_value(void *map, const void *data, size_t size)'),
    mapInitialValue: f('void *bpf_map__initial_value(void *map, _Out_ uint64_t *psize)'),
    objGet: f('int bpf_obj_get(const char *path)'),
    mapFdById: f('int bpf_map_get_fd_by_id(uint32_t id)'),
    linkCreate: f('int bpf_link_create(int prog_fd, int target_fd, int attach_type, const void *opts)'),
    linkUpdate: f('int bpf_link_update(int link_fd, int new_prog_fd, const void *opts)'),
    mapCreate: f('int bpf_map_create(int type, const char *name, uint32_t key_size, uint32_t value_size, uint32_t max_entries, const void *opts)'),
    lookupBatch: f('int bpf_map_lookup_batch(int fd, void *in_batch, void *out_batch, void *keys, void *values, _Inout_ uint32_t *count, const void *opts)'),
    updateBatch: f('int bpf_map_update_batch(int fd, const void *keys, const void *values, _Inout_ uint32_t *count, const void *opts)'),
    deleteBatch: f('int bpf_map_delete_batch(int fd, const void *keys, _Inout_ uint32_t *count, const void *opts)'),
    objPin: f('int bpf_obj_pin(int fd, const char *path)'),
    mapUpdate: f('int bpf_map_update_elem(int fd, const void *key, const void *value, uint64_t flags)'),
    mapLookup: f('int bpf_map_lookup_elem(int fd, const void *key, void *value)'),
    mapDelete: f('int bpf_map_delete_elem(int fd, const void *key)'),
    mapNextKey: f('int bpf_map_get_next_key(int fd, const void *key, void *next)'),
    objInfo: f('int bpf_obj_get_info_by_fd(int fd, void *info, _Inout_ uint32_t *len)'),
    testRun: f('int bpf_prog_test_run_opts(int fd, void *opts)'),
    ringNew: f('void *ring_buffer__new(int fd, void *cb, void *ctx, void *opts)'),
    ringPoll: f('int ring_buffer__poll(void *rb, int timeout_ms)'),
    ringFree: f('void ring_buffer__free(void *rb)'),
    probeMapType: f('int libbpf_probe_bpf_map_type(int type, const void *opts)'),
    probeProgType: f('int libbpf_probe_bpf_prog_type(int type, const void *opts)'),
    probeHelper: f('int libbpf_probe_bpf_helper(int prog_type, int helper_id, const void *opts)'),
    numPossibleCpus: f('int libbpf_num_possible_cpus(void)'),
    setPrint: f('void *libbpf_set_print(void *fn)'),
    close: libc.func('int close(int fd)'),
  } as unknown as Raw;
  // Route libbpf's messages (verifier logs included) into a buffer that load errors quote.
  // Only the main thread installs it: libbpf's print hook is process-wide.
  if (isMainThread) {
    const vsnprintf = libc.func('int vsnprintf(void *buf, size_t size, void *fmt, void *args)');
    const buf = Buffer.alloc(4096);
    const cb = koffi.register((_level: number, fmt: bigint, args: bigint) => {
      const n = vsnprintf(buf, buf.length, fmt, args) as number;
      if (capturing) logLines.push(buf.subarray(0, Math.max(0, Math.min(n, buf.length - 1))).toString('utf8'));
      return 0;
    }, koffi.pointer(printProto));
    raw.setPrint(cb);
  }
  // Worker threads leave the hook alone: libbpf messages they trigger are queued by koffi
  // to the main thread's callback.
  return raw;
}

const isNull = (p: Ptr | null | undefined): boolean => p === null || p === undefined || p === 0n;

/** Throws a BpfError when ret is a negative errno (libbpf 1.x convention). */
export function check(operation: string, ret: number, hint?: string): number {
  if (ret < 0) throw new BpfError(operation, -ret, { hint });
  return ret;
}

/** Closes a file descriptor returned by libbpf. */
export function closeFd(fd: number): void {
  if (fd >= 0) lib().close(fd);
}

/** Number of possible CPUs (the slot count of per-CPU map values). */
export function numPossibleCpus(): number {
  return check('libbpf_num_possible_cpus', lib().numPossibleCpus());
}

/** Opens a pinned BPF object (map or program) and returns a new fd. */
export function objGet(path: string, what: string): number {
  const fd = lib().objGet(path);
  if (fd < 0) {
    throw new BpfError(`open pinned ${what} ${path}`, -fd, {
      hint: -fd === 2 ? `nothing is pinned at ${path}; was Datapath.open / attachEndpoint run with this pinDir, and is bpffs mounted?` : undefined,
    });
  }
  return fd;
}

/** Pins fd at path. */
export function objPin(fd: number, path: string, what: string): void {
  check(`pin ${what} at ${path}`, lib().objPin(fd, path), 'the parent directory must be on bpffs (/sys/fs/bpf) and the path unused');
}

/** Raw map operations on an fd; buffers must already have the right sizes. Batch
 * operations return the negative errno and set count[0] to the elements processed. */
export const mapOps = {
  lookupBatch: (fd: number, inBatch: Buffer | null, outBatch: Buffer, keys: Buffer, values: Buffer, count: Uint32Array): number =>
    lib().lookupBatch(fd, inBatch, outBatch, keys, values, count, null),
  updateBatch: (fd: number, keys: Buffer, values: Buffer, count: Uint32Array, flags: bigint): number => {
    const opts = Buffer.alloc(24); // struct bpf_map_batch_opts { size_t sz; u64 elem_flags; u64 flags; }
    opts.writeBigUInt64LE(24n, 0);
    opts.writeBigUInt64LE(flags, 8);
    return lib().updateBatch(fd, keys, values, count, opts);
  },
  deleteBatch: (fd: number, keys: Buffer, count: Uint32Array): number => lib().deleteBatch(fd, keys, count, null),
  update: (fd: number, key: Buffer, value: Buffer, flags: bigint): number => lib().mapUpdate(fd, key, value, flags),
  lookup: (fd: number, key: Buffer, value: Buffer): number => lib().mapLookup(fd, key, value),
  delete: (fd: number, key: Buffer): number => lib().mapDelete(fd, key),
  nextKey: (fd: number, key: Buffer | null, next: Buffer): number => lib().mapNextKey(fd, key, next),
  pin: (fd: number, path: string): number => lib().objPin(fd, path),
};

/** Kernel-reported facts about a map fd. */
export interface MapInfo { type: number; id: number; keySize: number; valueSize: number; maxEntries: number; flags: number; name: string }

/** Reads struct bpf_map_info for a map fd. */
export function mapInfo(fd: number, what: string): MapInfo {
  const info = Buffer.alloc(96);
  const len = new Uint32Array([info.length]);
  check(`get info of ${what}`, lib().objInfo(fd, info, len));
  const name = info.subarray(24, 40);
  const nul = name.indexOf(0);
  return {
    type: info.readUInt32LE(0), id: info.readUInt32LE(4), keySize: info.readUInt32LE(8),
    valueSize: info.readUInt32LE(12), maxEntries: info.readUInt32LE(16), flags: info.readUInt32LE(20),
    name: name.subarray(0, nul < 0 ? 16 : nul).toString('latin1'),
  };
}

/** Kernel-reported facts about a program fd. */
export interface ProgInfo { id: number; type: number; tag: string; name: string; mapIds: number[] }

/** Reads struct bpf_prog_info (id, tag, name, the ids of the maps it uses). */
export function progInfo(fd: number, what: string): ProgInfo {
  const ids = koffi.alloc('uint32_t', 64) as unknown as bigint;
  try {
    const info = Buffer.alloc(232);
    info.writeUInt32LE(64, 52); // nr_map_ids
    info.writeBigUInt64LE(ids, 56); // map_ids
    const len = new Uint32Array([info.length]);
    check(`get info of ${what}`, lib().objInfo(fd, info, len));
    const n = Math.min(64, info.readUInt32LE(52));
    const name = info.subarray(64, 80);
    const nul = name.indexOf(0);
    return {
      type: info.readUInt32LE(0), id: info.readUInt32LE(4), tag: info.subarray(8, 16).toString('hex'),
      name: name.subarray(0, nul < 0 ? 16 : nul).toString('latin1'),
      mapIds: [...new Uint32Array(koffi.view(ids, n * 4).slice(0))],
    };
  } finally {
    koffi.free(ids);
  }
}

/** What bpf_map_create needs. */
export interface MapCreateSpec { type: number; name: string; keySize: number; valueSize: number; maxEntries: number; flags?: number; innerMapFd?: number }

/** Creates an unpinned map (bpf_map_create) and returns its fd. */
export function mapCreate(spec: MapCreateSpec): number {
  const opts = Buffer.alloc(48); // struct bpf_map_create_opts of libbpf 1.1
  opts.writeBigUInt64LE(48n, 0);
  opts.writeUInt32LE(spec.innerMapFd ?? 0, 24);
  opts.writeUInt32LE(spec.flags ?? 0, 28);
  return check(`create map "${spec.name}" (type ${spec.type}, key ${spec.keySize}, value ${spec.valueSize}, ${spec.maxEntries} entries)`,
    lib().mapCreate(spec.type, spec.name, spec.keySize, spec.valueSize, spec.maxEntries, opts),
    'check the sizes for the map type (e.g. per-CPU values, map-in-map needs innerMapFd and value size 4); needs CAP_BPF');
}

/** Raw link operations (bpf_link_create / bpf_link_update); negative errno on failure. */
export const linkOps = {
  create: (progFd: number, targetFd: number, attachType: number): number => lib().linkCreate(progFd, targetFd, attachType, null),
  update: (linkFd: number, newProgFd: number): number => lib().linkUpdate(linkFd, newProgFd, null),
};

/** Kernel-reported facts about a link fd (struct bpf_link_info; tcx: ifindex, attach type). */
export interface LinkInfo { type: number; id: number; progId: number; ifindex: number; attachType: number }

/** Reads struct bpf_link_info for a link fd. */
export function linkInfo(fd: number, what: string): LinkInfo {
  const info = Buffer.alloc(64);
  const len = new Uint32Array([info.length]);
  check(`get info of ${what}`, lib().objInfo(fd, info, len));
  return { type: info.readUInt32LE(0), id: info.readUInt32LE(4), progId: info.readUInt32LE(8), ifindex: info.readUInt32LE(16), attachType: info.readUInt32LE(20) };
}

/** Opens a map by its kernel id and returns a new fd. */
export function mapFdById(id: number): number {
  return check(`open map id ${id}`, lib().mapFdById(id), 'the map is gone (its last program or pin was removed)');
}

/** An open (not yet loaded, then loaded) BPF ELF object. */
export class BpfObject {
  private ptr: Ptr;

  private constructor(ptr: Ptr, readonly path: string) {
    this.ptr = ptr;
  }

  /** Opens the ELF object at path (no kernel objects are created yet). */
  static open(path: string): BpfObject {
    const l = lib();
    koffi.errno(0);
    const p = l.openFile(path, null);
    if (isNull(p)) {
      throw new BpfError(`open BPF object ${path}`, koffi.errno() || 22, {
        hint: 'build it with `npm run build` in libs/bpf (dist/bpf/*.o), or pass objectPath',
      });
    }
    return new BpfObject(p as Ptr, path);
  }

  private live(): Ptr {
    if (isNull(this.ptr)) throw new BpfError(`use BPF object ${this.path}`, 9, { hint: 'the object was closed' });
    return this.ptr;
  }

  /** Names of the maps in the object (internal ones like ".rodata" have object-prefixed names). */
  mapNames(): string[] {
    const out: string[] = [];
    for (let m = lib().nextMap(this.live(), null); !isNull(m); m = lib().nextMap(this.ptr, m)) out.push(lib().mapName(m as Ptr));
    return out;
  }

  /** Names of the programs in the object. */
  programNames(): string[] {
    const out: string[] = [];
    for (let p = lib().nextProgram(this.live(), null); !isNull(p); p = lib().nextProgram(this.ptr, p)) out.push(lib().programName(p as Ptr));
    return out;
  }

  private map(name: string): Ptr {
    const m = lib().findMap(this.live(), name);
    if (isNull(m)) throw new BpfError(`find map "${name}" in ${this.path}`, 2, { hint: `the object has maps ${this.mapNames().join(', ')}` });
    return m as Ptr;
  }

  private program(name: string): Ptr {
    const p = lib().findProgram(this.live(), name);
    if (isNull(p)) throw new BpfError(`find program "${name}" in ${this.path}`, 2, { hint: `the object has programs ${this.programNames().join(', ')}` });
    return p as Ptr;
  }

  /** The object's definition of map name (before or after load). */
  mapDef(name: string): { type: number; keySize: number; valueSize: number; maxEntries: number } {
    const m = this.map(name);
    const l = lib();
    return { type: l.mapType(m), keySize: l.mapKeySize(m), valueSize: l.mapValueSize(m), maxEntries: l.mapMaxEntries(m) };
  }

  /** Sets where map name is pinned: reused when a compatible map is pinned there, else created and pinned on load. */
  setPinPath(name: string, path: string): void {
    check(`set pin path of map "${name}" to ${path}`, lib().mapSetPinPath(this.map(name), path));
  }

  /** Current initial contents of an internal map such as ".rodata". */
  initialValue(name: string): Buffer {
    const size = new BigUint64Array(1);
    const p = lib().mapInitialValue(this.map(name), size);
    if (isNull(p)) throw new BpfError(`read initial value of map "${name}"`, 22);
    return Buffer.from(koffi.view(p, Number(size[0])).slice(0));
  }

  /** Replaces the initial contents of an internal map such as ".rodata" (before load). */
  setInitialValue(name: string, data: Buffer): void {
    check(`set initial value of map "${name}" (${data.length} bytes)`, lib().mapSetInitialValue(this.map(name), data, data.length),
      'the size must equal the section size compiled into the object');
  }

  /** Excludes or includes a program from loading. */
  setAutoload(program: string, on: boolean): void {
    check(`set autoload of program "${program}"`, lib().programSetAutoload(this.program(program), on));
  }

  /** Creates maps (reusing pinned ones) and loads programs into the kernel. */
  load(): void {
    logLines.length = 0;
    capturing = true;
    let ret: number;
    try {
      ret = lib().objectLoad(this.live());
    } finally {
      capturing = false;
    }
    if (ret < 0) throw new BpfLoadError(`load BPF object ${this.path}`, -ret, logLines.join(''));
  }

  /** File descriptor of a loaded program (owned by the object). */
  programFd(name: string): number {
    return check(`get fd of program "${name}"`, lib().programFd(this.program(name)), 'load the object first');
  }

  /** File descriptor of a created map (owned by the object). */
  mapFd(name: string): number {
    return check(`get fd of map "${name}"`, lib().mapFd(this.map(name)), 'load the object first');
  }

  /** Frees the object and its fds; pinned objects stay in the kernel. */
  close(): void {
    if (!isNull(this.ptr)) lib().objectClose(this.ptr);
    this.ptr = 0n;
  }
}

/** Result of one BPF_PROG_TEST_RUN. */
export interface TestRunResult {
  retval: number; dataOut: Buffer; /** Mean run time in ns as the kernel measured it. */ durationNs: number;
  /** The skb mark after the run (only when the run started from a ctx). */
  markOut?: number;
}

/** Runs a program on a packet repeat times (bpf_prog_test_run_opts); the result is the last run's. */
export function progTestRun(progFd: number, packet: Buffer, repeat = 1, ctx?: TestRunContext): TestRunResult {
  const l = lib();
  const outLen = packet.length + 256;
  const inPtr = koffi.alloc('uint8_t', Math.max(packet.length, 1)) as unknown as bigint;
  const outPtr = koffi.alloc('uint8_t', outLen) as unknown as bigint;
  const skb = ctx ? skbContext(ctx) : undefined;
  const ctxPtr = skb ? koffi.alloc('uint8_t', skb.length) as unknown as bigint : undefined;
  const ctxOutPtr = skb ? koffi.alloc('uint8_t', SKB_CTX_OUT_SIZE) as unknown as bigint : undefined;
  try {
    new Uint8Array(koffi.view(inPtr, packet.length)).set(packet);
    const opts = Buffer.alloc(80);
    if (skb && ctxPtr !== undefined) {
      new Uint8Array(koffi.view(ctxPtr, skb.length)).set(skb);
      opts.writeBigUInt64LE(ctxPtr, 32); // ctx_in
      opts.writeBigUInt64LE(ctxOutPtr!, 40); // ctx_out
      opts.writeUInt32LE(skb.length, 48); // ctx_size_in
      opts.writeUInt32LE(SKB_CTX_OUT_SIZE, 52); // ctx_size_out
    }
    opts.writeBigUInt64LE(80n, 0); // sz
    opts.writeBigUInt64LE(inPtr, 8); // data_in
    opts.writeBigUInt64LE(outPtr, 16); // data_out
    opts.writeUInt32LE(packet.length, 24); // data_size_in
    opts.writeUInt32LE(outLen, 28); // data_size_out
    opts.writeInt32LE(repeat, 60); // repeat
    check(`BPF_PROG_TEST_RUN on program fd ${progFd}`, l.testRun(progFd, opts),
      'the packet must be at least an Ethernet header (14 bytes) long; needs CAP_BPF');
    const got = opts.readUInt32LE(28);
    const result: TestRunResult = { retval: opts.readUInt32LE(56), durationNs: opts.readUInt32LE(64), dataOut: Buffer.from(koffi.view(outPtr, got).slice(0)) };
    if (ctxOutPtr !== undefined) result.markOut = Buffer.from(koffi.view(ctxOutPtr, SKB_CTX_OUT_SIZE)).readUInt32LE(8);
    return result;
  } finally {
    koffi.free(inPtr);
    koffi.free(outPtr);
    if (ctxPtr !== undefined) koffi.free(ctxPtr);
    if (ctxOutPtr !== undefined) koffi.free(ctxOutPtr);
  }
}

/** sizeof(struct __sk_buff): the kernel copies the whole context out (ENOSPC when the buffer is smaller). */
const SKB_CTX_OUT_SIZE = 192;

/** Fields of struct __sk_buff a test run may start with (the kernel refuses others). */
export interface TestRunContext { mark?: number; cb?: readonly number[] }

/** struct __sk_buff up to cb[4]: len, pkt_type zero, mark at 8, cb[0..4] at 48. */
function skbContext(ctx: TestRunContext): Buffer {
  const b = Buffer.alloc(68);
  b.writeUInt32LE((ctx.mark ?? 0) >>> 0, 8);
  (ctx.cb ?? []).slice(0, 5).forEach((v, i) => b.writeUInt32LE(v >>> 0, 48 + 4 * i));
  return b;
}

/** libbpf ring buffer consumer; the callback runs on the polling thread. */
export class RingBufferPoller {
  private rb: Ptr;
  private readonly cb: bigint;

  constructor(mapFd: number, onSample: (data: Buffer) => void) {
    const l = lib();
    this.cb = koffi.register((_ctx: bigint, data: bigint, size: number | bigint) => {
      onSample(Buffer.from(koffi.view(data, Number(size)).slice(0)));
      return 0;
    }, koffi.pointer(sampleProto as TypeObject));
    koffi.errno(0);
    const rb = l.ringNew(mapFd, this.cb, null, null);
    if (isNull(rb)) {
      koffi.unregister(this.cb);
      throw new BpfError(`create ring buffer reader on map fd ${mapFd}`, koffi.errno() || 22, { hint: 'the fd must be a BPF_MAP_TYPE_RINGBUF map' });
    }
    this.rb = rb as Ptr;
  }

  /** Waits up to timeoutMs for records and delivers them; returns the count (EINTR counts as 0). */
  poll(timeoutMs: number): number {
    const n = lib().ringPoll(this.rb, timeoutMs);
    if (n === -4) return 0;
    return check('poll ring buffer', n);
  }

  /** Frees the reader. */
  close(): void {
    if (!isNull(this.rb)) {
      lib().ringFree(this.rb);
      koffi.unregister(this.cb);
    }
    this.rb = 0n;
  }
}

/** Kernel support probes (libbpf_probe_bpf_*): 1 supported, 0 not, <0 error. */
export const probes = {
  mapType: (type: number): number => lib().probeMapType(type, null),
  progType: (type: number): number => lib().probeProgType(type, null),
  helper: (progType: number, helperId: number): number => lib().probeHelper(progType, helperId, null),
};
