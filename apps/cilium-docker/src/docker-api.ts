// The little of Docker's Engine API the plugin reads: which container is being attached to a
// network, for its name and labels. Docker's remote driver protocol carries neither; during
// CreateEndpoint dockerd holds the container's lock (an inspect would wait for it), but the
// container list is served from a snapshot without that lock, where the container being
// started shows as attached to the network with no endpoint id yet.
import { request } from 'node:http';

/** A container as GET /containers/json lists it (the fields used). */
export interface ListedContainer {
  Id: string;
  Names: string[];
  State: string;
  Labels: Record<string, string> | null;
  NetworkSettings?: { Networks?: Record<string, { NetworkID?: string; EndpointID?: string }> };
}

/** Docker's API answered with an error or could not be reached. */
export class DockerApiError extends Error {
  override readonly name = 'DockerApiError';
}

/** GET `path` from the Docker API at socketPath; resolves with the decoded JSON. */
export function dockerGet<T>(socketPath: string, path: string, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new DockerApiError(`Docker API GET ${path}: HTTP ${res.statusCode}: ${body.trim()}`));
        try {
          resolve(JSON.parse(body) as T);
        } catch (err) {
          reject(new DockerApiError(`Docker API GET ${path}: undecodable answer: ${(err as Error).message}`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new DockerApiError(`Docker API GET ${path}: no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => reject(err instanceof DockerApiError ? err : new DockerApiError(`Docker API at ${socketPath}: ${err.message}`)));
    req.end();
  });
}

/** Every container Docker has, running or not (GET /containers/json?all=1). */
export async function listContainers(socketPath: string): Promise<ListedContainer[]> {
  const list = await dockerGet<unknown>(socketPath, '/v1.41/containers/json?all=1');
  if (!Array.isArray(list)) throw new DockerApiError(`Docker API GET /v1.41/containers/json: expected a list, got ${typeof list}`);
  return list as ListedContainer[];
}

/**
 * The containers being attached to network `networkId` now: not running, listed on it
 * (by name: a created container's entry may not carry the network id yet) without an
 * endpoint id.
 */
export async function containersAttaching(socketPath: string, networkId: string): Promise<ListedContainer[]> {
  const net = await dockerGet<{ Name?: string }>(socketPath, `/v1.41/networks/${encodeURIComponent(networkId)}`);
  const list = await listContainers(socketPath);
  return list.filter((c) => {
    if (c.State === 'running') return false;
    const n = c.NetworkSettings?.Networks?.[net.Name ?? ''];
    return n !== undefined && (!n.NetworkID || n.NetworkID === networkId) && !n.EndpointID;
  });
}
