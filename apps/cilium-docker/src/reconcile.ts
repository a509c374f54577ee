// Reconciliation of the agent's Docker endpoints with Docker: a `docker rm` (or `docker
// network rm`) while the agent is down reaches the plugin's DeleteEndpoint, which fails, and
// Docker forgets the endpoint anyway; the agent restores it when it comes back. So each time
// the plugin's channel to the agent connects (start, and every agent restart), it lists the
// agent's endpoints of runtime `docker` and removes those whose container Docker no longer
// has (as the CNI GC does for podman). An endpoint stays when Docker lists its endpoint id on
// any container, or a container of its name (stopped, or being started now); endpoints of
// other runtimes are never touched; when Docker cannot be asked nothing is removed.
import type { Logger } from '@cilium-ts/process';
import type { DockerAgent } from './agent-client.js';
import { listContainers, type ListedContainer } from './docker-api.js';
import { removeEndpoint } from './docker-driver.js';

/** What one reconciliation did. */
export interface ReconcileResult {
  /** Docker endpoint ids whose agent endpoint, veth and addresses were removed. */
  removed: string[];
  /** Docker endpoints kept (their container is listed). */
  kept: number;
  /** Why nothing was compared ('' when it ran): Docker or the agent could not be asked. */
  skipped: string;
}

/** What reconciliation needs. */
export interface ReconcileDeps {
  agent: DockerAgent;
  dockerSocket: string;
  nodeNetns: string;
  logger: Logger;
}

/** The endpoint ids and names Docker's containers hold. */
function dockerHolds(list: readonly ListedContainer[]): { endpointIds: Set<string>; names: Set<string> } {
  const endpointIds = new Set<string>();
  const names = new Set<string>();
  for (const c of list) {
    for (const n of c.Names) names.add(n.replace(/^\//, ''));
    for (const net of Object.values(c.NetworkSettings?.Networks ?? {})) if (net.EndpointID) endpointIds.add(net.EndpointID);
  }
  return { endpointIds, names };
}

/** Removes the agent's Docker endpoints whose container Docker no longer has; see the file comment. */
export async function reconcileEndpoints(d: ReconcileDeps): Promise<ReconcileResult> {
  // The agent first: an endpoint it lists was created before Docker's list is read, so a
  // container started meanwhile is in that list.
  let endpoints;
  try {
    endpoints = (await d.agent.listEndpoints()).filter((ep) => ep.runtime === 'docker' && ep.containerId !== '');
  } catch (err) {
    const why = `cannot list the agent's endpoints: ${(err as Error).message}`;
    d.logger.warn('reconcile: removing nothing', { reason: why });
    return { removed: [], kept: 0, skipped: why };
  }
  let holds;
  try {
    holds = dockerHolds(await listContainers(d.dockerSocket));
  } catch (err) {
    const why = `cannot list Docker's containers: ${(err as Error).message}`;
    d.logger.warn('reconcile: removing nothing', { reason: why, dockerEndpoints: endpoints.length });
    return { removed: [], kept: endpoints.length, skipped: why };
  }
  const removed: string[] = [];
  let kept = 0;
  for (const ep of endpoints) {
    if (holds.endpointIds.has(ep.containerId) || (ep.podName !== '' && holds.names.has(ep.podName))) {
      kept++;
      continue;
    }
    try {
      const r = await removeEndpoint(d, ep.containerId);
      removed.push(ep.containerId);
      d.logger.info('reconcile: removed the endpoint of a container Docker no longer has', { endpointID: ep.id, dockerEndpoint: ep.containerId.slice(0, 12), container: ep.podName, ipv4: ep.ipv4, ...r });
    } catch (err) {
      kept++;
      d.logger.warn('reconcile: removing an endpoint failed; the next reconnection retries', { endpointID: ep.id, dockerEndpoint: ep.containerId.slice(0, 12), error: (err as Error).message });
    }
  }
  return { removed, kept, skipped: '' };
}

/**
 * Reconciles each time the agent channel connects (the first time and after every agent
 * restart), one run at a time (a connection during a run starts one more afterwards);
 * onDone, when given, gets each run's result.
 */
export function startReconciler(d: ReconcileDeps, onDone?: (r: ReconcileResult) => void): void {
  let running = false;
  let again = false;
  const run = async (): Promise<void> => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        const r = await reconcileEndpoints(d);
        onDone?.(r);
      } while (again);
    } finally {
      running = false;
    }
  };
  d.agent.watchConnected(() => void run());
}
