// Reading back what a pinned program was loaded with: its kernel id, tag and the
// contents of its .rodata (the endpoint constants and build id), through the ids of the
// maps it uses (bpf_prog_info.map_ids).
import { existsSync, readFileSync } from 'node:fs';
import { pinPaths } from './pinned-maps.js';
import { closeFd, mapFdById, mapInfo, mapOps, objGet, progInfo } from './libbpf.js';

/** A pinned program as the kernel reports it. */
export interface PinnedProgram { id: number; tag: string; rodata: Buffer; /** Maps the program uses, by name (kernel map names) -> id. */ maps: Map<string, number> }

/** Kernel id, tag and .rodata of the program pinned at path; undefined when nothing is pinned there. */
export function readPinnedProgram(path: string, what: string): PinnedProgram | undefined {
  if (!existsSync(path)) return undefined;
  const fd = objGet(path, what);
  try {
    const info = progInfo(fd, what);
    let rodata = Buffer.alloc(0);
    const maps = new Map<string, number>();
    for (const id of info.mapIds) {
      const mfd = mapFdById(id);
      try {
        const mi = mapInfo(mfd, `map id ${id} of ${what}`);
        maps.set(mi.name, id);
        if (!mi.name.endsWith('.rodata')) continue;
        const value = Buffer.alloc(mi.valueSize);
        if (mapOps.lookup(mfd, Buffer.alloc(4), value) === 0) rodata = value;
      } finally {
        closeFd(mfd);
      }
    }
    return { id: info.id, tag: info.tag, rodata, maps };
  } finally {
    closeFd(fd);
  }
}

/**
 * Kernel ids of the programs pinned under pinDir and of the programs its pinned links
 * (tcx) run: what `cilium cleanup` recognises as this node's programs where they are
 * attached. An absent pinDir has none.
 */
export function pinnedProgramIds(pinDir: string): Set<number> {
  const ids = new Set<number>();
  if (!existsSync(pinDir)) return ids;
  for (const name of pinPaths(pinDir)) {
    let fd: number;
    try {
      fd = objGet(`${pinDir}/${name}`, `pin ${name}`);
    } catch {
      continue; // removed meanwhile
    }
    try {
      // Programs and links both show the program's id in their fdinfo; maps have none.
      const m = /^prog_id:\s*(\d+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
      if (m) ids.add(Number(m[1]));
    } finally {
      closeFd(fd);
    }
  }
  return ids;
}
