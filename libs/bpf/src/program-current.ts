// Whether a pinned program is current: loaded from this build with the expected constants
// and using the shared maps pinned now (then a restart re-attaches nothing).
import { existsSync } from 'node:fs';
import { SHARED_MAPS, type SharedMapName } from './endpoint-loader.js';
import { closeFd, mapInfo, objGet } from './libbpf.js';
import { endpointConfig, type EndpointConfig } from './map-codecs.js';
import type { PinnedProgram } from './pinned-program.js';

/**
 * Whether a pinned program was loaded from this object with constants cfg (its .rodata
 * starts with them) and uses the shared maps pinned under pinDir now (none of them was
 * replaced since it was loaded).
 */
export function loadedFromThisBuild(pinDir: string, prog: PinnedProgram, cfg: EndpointConfig): boolean {
  const want = endpointConfig.encode(cfg);
  if (!prog.rodata.subarray(0, want.length).equals(want)) return false;
  for (const name of SHARED_MAPS) {
    const used = prog.maps.get(name);
    if (used !== undefined && used !== sharedMapId(pinDir, name)) return false;
  }
  return true;
}

/** Kernel id of the shared map pinned as pinDir/<name>; undefined when not pinned. */
function sharedMapId(pinDir: string, name: SharedMapName): number | undefined {
  const pin = `${pinDir}/${name}`;
  if (!existsSync(pin)) return undefined;
  const fd = objGet(pin, `shared map ${name}`);
  try {
    return mapInfo(fd, `shared map ${name}`).id;
  } finally {
    closeFd(fd);
  }
}
