/**
 * Tunnel mode's from-overlay program on cilium_vxlan, attached only when needed: after a
 * restart the program attached by the previous run keeps running (same kernel program
 * id, no gap) as long as it is the pinned one, was loaded from the current build of the
 * datapath object, and uses the current shared maps.
 */
import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { promisify } from 'node:util';
import { tcAttachedProgramId, type TcTarget } from '@cilium-ts/bpf';

const run = promisify(execFile);

/** What ensureOverlay needs of the datapath (a narrow view of Datapath). */
export interface OverlayDatapath {
  /** The compiled object programs are loaded from. */
  readonly objectPath: string;
  /** Shared maps Datapath.open found with another build's layout and replaced. */
  readonly replacedMaps: readonly string[];
  overlayPin(): string;
  attachOverlay(target: TcTarget): Promise<void>;
}

/** Kernel id and load time (unix seconds) of the program pinned at path, from bpftool; undefined when unreadable. */
export async function pinnedProgramInfo(path: string): Promise<{ id: number; loadedAt: number } | undefined> {
  try {
    const { stdout } = await run('bpftool', ['-j', 'prog', 'show', 'pinned', path]);
    const info = JSON.parse(stdout) as { id?: number; loaded_at?: number };
    return info.id && info.loaded_at ? { id: info.id, loadedAt: info.loaded_at } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * True when target's tc ingress runs the pinned from-overlay program, loaded no earlier
 * than the object file was built, with no shared map replaced since.
 */
export async function overlayCurrent(dp: OverlayDatapath, target: TcTarget): Promise<boolean> {
  if (dp.replacedMaps.length > 0 || !existsSync(dp.overlayPin())) return false;
  const pinned = await pinnedProgramInfo(dp.overlayPin());
  if (!pinned) return false;
  if (pinned.loadedAt < Math.floor(statSync(dp.objectPath).mtimeMs / 1000)) return false;
  return (await tcAttachedProgramId(target, 'ingress')) === pinned.id;
}

/** Attaches from-overlay to target unless the current program already runs there; returns whether it attached. */
export async function ensureOverlay(dp: OverlayDatapath, target: TcTarget): Promise<boolean> {
  if (await overlayCurrent(dp, target)) return false;
  await dp.attachOverlay(target);
  return true;
}
