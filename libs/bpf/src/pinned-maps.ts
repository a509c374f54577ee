// The maps pinned under a node's pin directory as the kernel reports them: name, type,
// maximum and the number of entries in use, for `cilium map list|get` and the
// cilium_bpf_map_pressure metric. Reads the kernel's maps, not the agent's view of them.
import { readdirSync, readFileSync } from 'node:fs';
import { BpfError } from './errors.js';
import { closeFd, mapInfo, objGet } from './libbpf.js';
import { BpfMap, MapType } from './bpf-map.js';
import type { Codec } from './map-codecs.js';

/** Names of enum bpf_map_type values that can be pinned here (others print as their number). */
const MapTypeNames: Readonly<Record<number, string>> = {
  [MapType.hash]: 'hash', [MapType.array]: 'array', 3: 'prog_array', 4: 'perf_event_array', [MapType.percpuHash]: 'percpu_hash',
  [MapType.percpuArray]: 'percpu_array', [MapType.lruHash]: 'lru_hash', [MapType.lruPercpuHash]: 'lru_percpu_hash',
  [MapType.lpmTrie]: 'lpm_trie', [MapType.arrayOfMaps]: 'array_of_maps', [MapType.hashOfMaps]: 'hash_of_maps',
  [MapType.ringbuf]: 'ringbuf',
};

/**
 * Map types whose entries come and go (their pressure is entries / max). Arrays always
 * hold max_entries slots and ring buffers have no entries: they report no pressure.
 */
const SizedTypes: ReadonlySet<number> = new Set([MapType.hash, MapType.percpuHash, MapType.lruHash, MapType.lruPercpuHash, MapType.lpmTrie, MapType.hashOfMaps]);

/** One pinned map. */
export interface PinnedMapInfo {
  /** Path below the pin directory (e.g. `ipcache`, `ep12/policy`). */
  name: string;
  /** Absolute pin path. */
  path: string;
  /** bpf_map_type name (`hash`, `lru_hash`, ...). */
  type: string;
  /** Kernel map id. */
  id: number;
  keySize: number;
  valueSize: number;
  /** max_entries. */
  maxEntries: number;
  /** Entries in use; undefined for maps without countable entries (arrays, ring buffers). */
  entries?: number;
}

/** One entry of a pinned map, key and value as hex. */
export interface PinnedMapEntry {
  key: string;
  value: string;
}

function rawCodec(size: number): Codec<Buffer> {
  return { size, encode: (b) => b, decode: (b) => b };
}

/** Whether the pinned object at path is a map (programs and links are pinned beside maps). */
function isMapFd(fd: number): boolean {
  try {
    return /^map_type:/m.test(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
  } catch {
    return false;
  }
}

/** Pin paths below pinDir (one level of subdirectories, as Datapath lays them out), sorted; BpfError when pinDir cannot be read. */
export function pinPaths(pinDir: string): string[] {
  let top;
  try {
    top = readdirSync(pinDir, { withFileTypes: true });
  } catch (err) {
    throw new BpfError(`list pinned maps in ${pinDir}`, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 2 : 5, {
      hint: 'is this the agent\'s --bpf-pin-dir, and is bpffs mounted?',
      cause: err,
    });
  }
  const out: string[] = [];
  for (const e of top) {
    if (e.isDirectory()) {
      for (const f of readdirSync(`${pinDir}/${e.name}`, { withFileTypes: true })) if (!f.isDirectory()) out.push(`${e.name}/${f.name}`);
    } else out.push(e.name);
  }
  return out.sort();
}

/** Opens the map pinned at path and runs fn with a raw BpfMap and its kernel info; undefined when the pin is not a map. */
function withPinnedMap<T>(path: string, name: string, fn: (m: BpfMap<Buffer, Buffer> | undefined, info: PinnedMapInfo) => T): T | undefined {
  const fd = objGet(path, `map "${name}"`);
  if (!isMapFd(fd)) {
    closeFd(fd);
    return undefined;
  }
  const k = mapInfo(fd, `map "${name}"`);
  const info: PinnedMapInfo = { name, path, type: MapTypeNames[k.type] ?? String(k.type), id: k.id, keySize: k.keySize, valueSize: k.valueSize, maxEntries: k.maxEntries };
  if (!SizedTypes.has(k.type)) {
    closeFd(fd);
    return fn(undefined, info);
  }
  const m = BpfMap.fromFd(name, fd, rawCodec(k.keySize), rawCodec(k.valueSize));
  try {
    return fn(m, info);
  } finally {
    m.close();
  }
}

/**
 * Every map pinned under pinDir with its maximum and, for hash-like maps, the entries in
 * use (read from the kernel now: one batch lookup per 256 entries). Pins that are not
 * maps (programs, links) are left out; a pin removed while listing is skipped.
 */
export function listPinnedMaps(pinDir: string): PinnedMapInfo[] {
  const out: PinnedMapInfo[] = [];
  for (const name of pinPaths(pinDir)) {
    let info: PinnedMapInfo | undefined;
    try {
      info = withPinnedMap(`${pinDir}/${name}`, name, (m, i) => (m ? { ...i, entries: m.entriesBatchRaw().length } : i));
    } catch (err) {
      if (err instanceof BpfError && err.errno === 2) continue; // unpinned meanwhile
      throw err;
    }
    if (info) out.push(info);
  }
  return out;
}

/** Thrown when no map is pinned under the asked name. */
export class PinnedMapNotFoundError extends Error {
  constructor(readonly mapName: string, readonly pinDir: string) {
    super(`no map "${mapName}" is pinned under ${pinDir} (see the names of cilium map list)`);
    this.name = 'PinnedMapNotFoundError';
  }
}

/** The map pinned at pinDir/name with its entries (hex), for hash-like maps; arrays and ring buffers list none. */
export function getPinnedMap(pinDir: string, name: string): { info: PinnedMapInfo; entries: PinnedMapEntry[] } {
  if (!name || name.split('/').some((p) => p === '' || p === '.' || p === '..') || name.split('/').length > 2) throw new PinnedMapNotFoundError(name, pinDir);
  let got;
  try {
    got = withPinnedMap(`${pinDir}/${name}`, name, (m, info) => {
      if (!m) return { info, entries: [] };
      const entries = m.entriesBatchRaw().map(([k, v]) => ({ key: k.toString('hex'), value: v.toString('hex') }));
      entries.sort((a, b) => a.key.localeCompare(b.key));
      return { info: { ...info, entries: entries.length }, entries };
    });
  } catch (err) {
    if (err instanceof BpfError && err.errno === 2) throw new PinnedMapNotFoundError(name, pinDir);
    throw err;
  }
  if (!got) throw new PinnedMapNotFoundError(name, pinDir);
  return got;
}
