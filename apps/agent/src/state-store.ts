/**
 * The agent's state directory: one JSON file per endpoint, written atomically
 * (write to a temporary file, fsync, rename), so that a restarted agent restores
 * exactly the endpoints it had, even after SIGKILL.
 */
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-file.js';
import type { EndpointOptions } from './endpoint-options.js';

/** What the agent keeps of an endpoint across restarts. */
export interface EndpointState {
  id: number;
  containerId: string;
  netns: string;
  ifname: string;
  hostIfname: string;
  hostIfindex: number;
  ipv4: string;
  ipv6: string;
  mac: string;
  hostMac: string;
  labels: string[];
  identity: number;
  podName: string;
  namespace: string;
  /** The container runtime that attached the endpoint ("podman", "docker"); absent when not known. */
  runtime?: string;
  /** Labels of an endpoint waiting for its runtime's (it is reserved:init meanwhile); absent once it has them. */
  pendingLabels?: string[];
  createdAtNs: string;
  /** Endpoint options (cilium endpoint config); absent in files of earlier versions (defaults). */
  options?: EndpointOptions;
}

/** Reads and writes endpoint state files under `<dir>/endpoints/`. */
export class StateStore {
  private readonly dir: string;

  constructor(stateDir: string) {
    this.dir = join(stateDir, 'endpoints');
  }

  /** Creates the directory if needed. */
  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
  }

  /** Atomically writes one endpoint's state. */
  async save(ep: EndpointState): Promise<void> {
    await writeFileAtomic(join(this.dir, `${ep.id}.json`), JSON.stringify(ep, null, 2) + '\n');
  }

  /** Removes one endpoint's state; missing is fine. */
  async remove(id: number): Promise<void> {
    await rm(join(this.dir, `${id}.json`), { force: true });
  }

  /** Loads every endpoint; unreadable files are reported through `onError` and skipped. */
  async loadAll(onError: (file: string, err: Error) => void): Promise<EndpointState[]> {
    const out: EndpointState[] = [];
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return out;
    }
    for (const name of names.sort()) {
      const file = join(this.dir, name);
      if (name.includes('.tmp-')) {
        await rm(file, { force: true });
        continue;
      }
      if (!name.endsWith('.json')) continue;
      try {
        const ep = JSON.parse(await readFile(file, 'utf8')) as EndpointState;
        if (typeof ep.id !== 'number' || typeof ep.containerId !== 'string') throw new Error('missing id or containerId');
        out.push(ep);
      } catch (err) {
        onError(file, err as Error);
      }
    }
    return out;
  }
}
