/**
 * The endpoint deletion queue, as Cilium's CNI deletion queue: a client of the agent
 * (cilium-cni's DEL, cilium-docker's DeleteEndpoint) that finds the agent unreachable
 * records the container whose endpoint must go in a directory beside the agent's socket,
 * and returns success to its runtime; the agent drains the directory at start before it
 * serves (releasing the container's addresses and removing its endpoint, maps and identity
 * reference) and follows it while it runs.
 *
 * The API, for both sides:
 * - `deletionQueueDir(agentTarget)`: the queue of the agent at `unix:///dir/agent.sock` is
 *   `/dir/delete-queue` (a TCP target has none unless configured);
 * - `enqueueDeletion(dir, containerId, origin)`: client side; one file per container,
 *   written atomically (temporary file, fsync, rename), so the agent never reads half of
 *   one; nothing when the directory does not exist (no agent ever started there);
 * - `drainDeletionQueue(dir, handle)`: agent side; every entry in name order, removed once
 *   `handle` succeeded (a failed one stays for the next drain);
 * - `followDeletionQueue(dir, handle)`: agent side; drains again whenever an entry appears.
 *
 * Cilium also takes a lock file around the queue so that an entry written while the agent
 * drains at start is not left until its next start; here the agent follows the directory
 * (inotify) from before its first drain until it stops, so no entry waits for a restart
 * and the clients need no lock.
 */
import { watch, type FSWatcher } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** One queued deletion: the container whose endpoint and addresses the agent must remove. */
export interface DeletionRequest {
  /** The container id (the endpoint's container_id and the owner of its addresses). */
  containerId: string;
  /** Who queued it (`cilium-cni`, `cilium-docker`), for the agent's log. */
  origin: string;
  /** When it was queued (ISO 8601). */
  queuedAt: string;
}

/** A queue entry that cannot be read or a request that is not valid. */
export class DeletionQueueEntryError extends Error {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`deletion queue entry ${file}: ${reason}`);
    this.name = 'DeletionQueueEntryError';
  }
}

const CONTAINER_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/;
const SUFFIX = '.delete';

/** The deletion queue directory of the agent at `agentTarget` (`unix:///dir/agent.sock` or `/dir/agent.sock`): `/dir/delete-queue`; undefined for a TCP target. */
export function deletionQueueDir(agentTarget: string): string | undefined {
  const path = agentTarget.startsWith('unix://') ? agentTarget.slice('unix://'.length) : agentTarget.startsWith('/') ? agentTarget : undefined;
  return path ? join(dirname(path), 'delete-queue') : undefined;
}

/**
 * Records that container `containerId`'s endpoint must be deleted; returns the entry's
 * file, or undefined when `dir` does not exist (the agent creates it at its first start:
 * without it no agent ever ran there, so it has no endpoint to delete).
 */
export async function enqueueDeletion(dir: string, containerId: string, origin: string): Promise<string | undefined> {
  if (!CONTAINER_ID_RE.test(containerId)) throw new DeletionQueueEntryError(containerId, 'the container id must be letters, digits, "_", "." and "-"');
  try {
    await stat(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const file = join(dir, `${containerId}${SUFFIX}`);
  const tmp = join(dir, `.${containerId}.tmp-${process.pid}`);
  const request: DeletionRequest = { containerId, origin, queuedAt: new Date().toISOString() };
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(JSON.stringify(request) + '\n');
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
  return file;
}

/** Reads one entry; DeletionQueueEntryError when it is not a valid request. */
async function readEntry(dir: string, name: string): Promise<DeletionRequest> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(join(dir, name), 'utf8'));
  } catch (err) {
    throw new DeletionQueueEntryError(name, `not JSON: ${(err as Error).message}`);
  }
  const r = parsed as Partial<DeletionRequest> | null;
  if (!r || typeof r.containerId !== 'string' || !CONTAINER_ID_RE.test(r.containerId) || `${r.containerId}${SUFFIX}` !== name) {
    throw new DeletionQueueEntryError(name, 'containerId is missing, invalid or not the file\'s name');
  }
  return { containerId: r.containerId, origin: String(r.origin ?? ''), queuedAt: String(r.queuedAt ?? '') };
}

/** What a drain did. */
export interface DrainResult {
  /** Containers whose deletion succeeded (their entries are gone). */
  done: string[];
  /** Entries left for the next drain because `handle` failed, with its error. */
  failed: Array<{ containerId: string; error: Error }>;
  /** Entries removed because they are not valid requests. */
  invalid: DeletionQueueEntryError[];
}

/** Handles every queued deletion (in name order), removing each entry once `handle` succeeded. A missing directory is an empty queue. */
export async function drainDeletionQueue(dir: string, handle: (r: DeletionRequest) => Promise<void>): Promise<DrainResult> {
  const out: DrainResult = { done: [], failed: [], invalid: [] };
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith(SUFFIX) && !n.startsWith('.')).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return out;
    throw err;
  }
  for (const name of names) {
    let r: DeletionRequest;
    try {
      r = await readEntry(dir, name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      out.invalid.push(err as DeletionQueueEntryError);
      await rm(join(dir, name), { force: true });
      continue;
    }
    try {
      await handle(r);
    } catch (err) {
      out.failed.push({ containerId: r.containerId, error: err as Error });
      continue;
    }
    await rm(join(dir, name), { force: true });
    out.done.push(r.containerId);
  }
  return out;
}

/** A followed queue: `close()` stops following; `drained` resolves after the first drain. */
export interface FollowedQueue {
  drained: Promise<DrainResult>;
  close(): void;
}

/**
 * Creates the queue directory, follows it, and drains it now and whenever an entry appears
 * (drains never overlap; one that is asked for while one runs follows it). `report` hears
 * every drain's result.
 */
export async function followDeletionQueue(dir: string, handle: (r: DeletionRequest) => Promise<void>, report: (r: DrainResult) => void): Promise<FollowedQueue> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  let running: Promise<DrainResult> | undefined;
  let again = false;
  let closed = false;
  const drain = (): Promise<DrainResult> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      let r: DrainResult;
      do {
        again = false;
        r = await drainDeletionQueue(dir, handle);
        report(r);
      } while (again && !closed);
      return r;
    })().finally(() => (running = undefined));
    return running;
  };
  // Watching before the first drain: an entry written meanwhile triggers another one.
  const watcher: FSWatcher = watch(dir, (_event, name) => {
    if (!closed && name && String(name).endsWith(SUFFIX) && !String(name).startsWith('.')) void drain().catch(() => undefined);
  });
  watcher.on('error', () => undefined);
  return {
    drained: drain(),
    close: () => {
      closed = true;
      watcher.close();
    },
  };
}
