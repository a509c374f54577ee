/**
 * The agent's side of the endpoint deletion queue (@cilium-ts/grpc/deletion-queue): deletions
 * that cilium-cni or cilium-docker recorded while the agent was unreachable are carried out
 * at start, before the API serves, and whenever one is recorded while the agent runs. Each
 * removes the container's endpoint (its programs, maps, ipcache entries, identity reference
 * and state file) and releases every address the container owns.
 */
import { followDeletionQueue, type DrainResult, type FollowedQueue } from '@cilium-ts/grpc/deletion-queue';
import type { EndpointManager } from './endpoint-manager.js';

/** What releasing a container needs of the agent. */
export interface ContainerReleaseDeps {
  endpoints: Pick<EndpointManager, 'delete'>;
  /** The address pools (IPv4, and IPv6 when enabled). */
  pools: () => Array<{ releaseOwner(owner: string): number }>;
  saveIpam: () => Promise<void>;
  log: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

/** Removes container `containerId`'s endpoint and releases its addresses; both may be gone already. */
export async function releaseContainer(d: ContainerReleaseDeps, containerId: string): Promise<{ endpoint: boolean; addresses: number }> {
  const endpoint = await d.endpoints.delete({ containerId });
  let addresses = 0;
  for (const pool of d.pools()) addresses += pool.releaseOwner(containerId);
  if (addresses > 0) await d.saveIpam();
  return { endpoint, addresses };
}

/** Drains the queue in `dir` now (resolves after that drain) and follows it until close(). */
export async function startDeletionQueue(dir: string, d: ContainerReleaseDeps): Promise<FollowedQueue> {
  const report = (r: DrainResult) => {
    if (r.done.length > 0) d.log('info', 'queued endpoint deletions done', { containers: r.done, dir });
    for (const f of r.failed) d.log('warn', 'queued endpoint deletion failed; kept for the next drain', { containerID: f.containerId, error: f.error.message });
    for (const e of r.invalid) d.log('warn', 'invalid deletion queue entry removed', { file: e.file, error: e.message });
  };
  const q = await followDeletionQueue(
    dir,
    async (req) => {
      const r = await releaseContainer(d, req.containerId);
      d.log('info', 'queued endpoint deletion', { containerID: req.containerId, origin: req.origin, queuedAt: req.queuedAt, ...r });
    },
    report,
  );
  try {
    await q.drained;
  } catch (err) {
    q.close();
    throw new Error(`cannot drain the endpoint deletion queue ${dir}: ${(err as Error).message}`, { cause: err });
  }
  return q;
}
