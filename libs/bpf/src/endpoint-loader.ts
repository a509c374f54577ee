// Loading the datapath object: once to create/reuse the shared pinned maps, and once per
// endpoint with that endpoint's constants in .rodata and its own pinned policy map.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BpfError } from './errors.js';
import { BpfObject, closeFd, mapInfo, objGet } from './libbpf.js';
import { endpointConfig, type EndpointConfig } from './map-codecs.js';

/** Maps shared by all endpoints, pinned as pinDir/<name>. */
export const SHARED_MAPS = ['ipcache', 'ct', 'events', 'metrics', 'endpoints', 'events_lost', 'ep_flags', 'tunnel', 'policy_calls', 'proxy_ready'] as const;
/** A shared map's name. */
export type SharedMapName = (typeof SHARED_MAPS)[number];
/** Program names in the object, and the pin names used under pinDir/ep<id>/. */
export const PROGRAMS = { fromContainer: 'from_container', toContainer: 'to_container', toContainerLocal: 'to_container_local', fromOverlay: 'from_overlay' } as const;

/** The object built by `npm run build` (dist/bpf/datapath.o next to this module's dist). */
export function defaultObjectPath(): string {
  return fileURLToPath(new URL('./bpf/datapath.o', import.meta.url));
}

const buildIds = new Map<string, number>();

/** Identifies the object file's build (first 32 bits of its SHA-256); programs carry it in .rodata. */
export function objectBuildId(objectPath: string): number {
  let id = buildIds.get(objectPath);
  if (id === undefined) {
    id = createHash('sha256').update(readFileSync(objectPath)).digest().readUInt32LE(0);
    buildIds.set(objectPath, id);
  }
  return id;
}

/**
 * Creates the shared maps (or reuses the pinned ones) without loading any program. A
 * pinned map whose type or sizes differ from this build's (left by an older datapath)
 * is unpinned first and created anew: programs still attached keep their old map until
 * they are re-attached. Returns the names of the maps so replaced.
 */
export function ensureSharedMaps(objectPath: string, pinDir: string): string[] {
  const obj = BpfObject.open(objectPath);
  const replaced: string[] = [];
  try {
    for (const m of SHARED_MAPS) {
      const pin = `${pinDir}/${m}`;
      if (existsSync(pin) && !compatible(pin, obj.mapDef(m))) {
        unlinkSync(pin);
        replaced.push(m);
      }
      obj.setPinPath(m, pin);
    }
    for (const p of Object.values(PROGRAMS)) obj.setAutoload(p, false);
    obj.load();
    return replaced;
  } finally {
    obj.close();
  }
}

function compatible(pin: string, want: { type: number; keySize: number; valueSize: number; maxEntries: number }): boolean {
  let fd: number;
  try {
    fd = objGet(pin, 'shared map');
  } catch {
    return false;
  }
  try {
    const have = mapInfo(fd, pin);
    return have.type === want.type && have.keySize === want.keySize && have.valueSize === want.valueSize && have.maxEntries === want.maxEntries;
  } finally {
    closeFd(fd);
  }
}

/** Writes the endpoint's constants into the object's .rodata (before load). */
function setEndpointConfig(obj: BpfObject, cfg: EndpointConfig): void {
  const rodata = obj.initialValue('.rodata');
  if (rodata.length < endpointConfig.size) {
    throw new BpfError(`set endpoint constants in ${obj.path}`, 22, {
      detail: `.rodata is ${rodata.length} bytes, struct ep_config needs ${endpointConfig.size}`,
      hint: 'CONFIG must be the first .rodata variable of datapath.c; rebuild the object',
    });
  }
  endpointConfig.encode(cfg).copy(rodata, 0);
  obj.setInitialValue('.rodata', rodata);
}

/**
 * Loads the endpoint programs (from-container, to-container, to-container-local) with cfg, reusing the shared maps and the endpoint's
 * policy map at policyPin (created and pinned there when absent). The caller pins the
 * programs it needs and closes the object.
 */
export function loadEndpointObject(objectPath: string, pinDir: string, policyPin: string, cfg: EndpointConfig): BpfObject {
  const obj = BpfObject.open(objectPath);
  try {
    setEndpointConfig(obj, cfg);
    for (const m of SHARED_MAPS) obj.setPinPath(m, `${pinDir}/${m}`);
    obj.setPinPath('policy', policyPin);
    obj.setAutoload(PROGRAMS.fromOverlay, false);
    obj.load();
    return obj;
  } catch (err) {
    obj.close();
    throw err;
  }
}

/** The constants of the from-overlay program: endpoint id 0 and the object's build id. */
export function overlayConfig(objectPath: string): EndpointConfig {
  return { endpointId: 0, identity: 0, ifindex: 0, buildId: objectBuildId(objectPath) };
}

/**
 * Loads only the from-overlay program (tunnel mode, tc ingress of the VXLAN device),
 * reusing the shared maps; its constants carry endpoint id 0. The caller pins the
 * program and closes the object.
 */
export function loadOverlayObject(objectPath: string, pinDir: string): BpfObject {
  const obj = BpfObject.open(objectPath);
  try {
    setEndpointConfig(obj, overlayConfig(objectPath));
    for (const m of SHARED_MAPS) obj.setPinPath(m, `${pinDir}/${m}`);
    obj.setAutoload(PROGRAMS.fromContainer, false);
    obj.setAutoload(PROGRAMS.toContainer, false);
    obj.setAutoload(PROGRAMS.toContainerLocal, false);
    obj.load();
    return obj;
  } catch (err) {
    obj.close();
    throw err;
  }
}
