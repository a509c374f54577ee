/**
 * The agent's view of the cluster's load-balancing services: validates updates, writes
 * them to the kvstore, follows the kvstore's watch into the datapath, and keeps the last
 * known services in `<state-dir>/services.json`, so that a restarted agent serves them
 * before (and without) etcd.
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../atomic-file.js';
import { checkServiceUpdate, validateService, type Service, type ServiceSpec } from '@cilium-ts/loadbalancer';
import type { ServiceStore, WatchCloser } from '@cilium-ts/kvstore';

/** Where services go in this node's datapath (libs/bpf's load-balancing maps). */
export interface ServiceDatapath {
  /** Writes a service and its backends; throws when the maps cannot hold it. */
  upsertService(svc: Service): void;
  /** Removes a service (idempotent). */
  deleteService(id: number): void;
  /** Removes what the datapath holds beyond the live services (entries restored from pins); returns what went. */
  gc?(live: Iterable<number>): { services: number[]; backends: number[] };
}

/** What the manager needs. */
export interface ServiceManagerDeps {
  store: ServiceStore;
  /** Absent until the datapath is loaded (tests of the control plane alone). */
  datapath?: ServiceDatapath;
  /** `<state-dir>/services.json`. */
  stateFile: string;
  /** The cluster's pod CIDRs (this node's and every registered node's): no VIP may lie inside. */
  podCidrs(): string[];
  /** Backend slots of one service in the datapath. */
  maxBackends: number;
  log(level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void;
  /** Hears every change of the served services (hubble-server names flows by them). */
  changed?(kind: 'upsert' | 'delete', svc: Service): void;
}

/** Raised when a service id is unknown. */
export class ServiceNotFoundError extends Error {
  override readonly name = 'ServiceNotFoundError';
  constructor(readonly id: number) {
    super(`service ${id} not found`);
  }
}

/** The services this agent serves, kept in step with the kvstore. */
export class ServiceManager {
  private readonly services = new Map<number, Service>();
  private watcher?: WatchCloser;
  private saves: Promise<void> = Promise.resolve();
  private synced = false;

  constructor(private readonly deps: ServiceManagerDeps) {}

  /** Services by id. */
  list(): Service[] {
    return [...this.services.values()].sort((a, b) => a.id - b.id);
  }

  /** One service; undefined when unknown. */
  get(id: number): Service | undefined {
    return this.services.get(id);
  }

  /** True once the kvstore's listing has been applied (restored services reconciled). */
  get isSynced(): boolean {
    return this.synced;
  }

  /** Loads services.json into the datapath (the last known services, before etcd answers). */
  async restore(): Promise<number> {
    let text: string;
    try {
      text = await readFile(this.deps.stateFile, 'utf8');
    } catch {
      return 0;
    }
    const saved = JSON.parse(text) as unknown[];
    for (const raw of Array.isArray(saved) ? saved : []) {
      try {
        this.apply(validateService(raw as ServiceSpec, { podCidrs: [], maxBackends: this.deps.maxBackends }));
      } catch (err) {
        this.deps.log('warn', 'dropping saved service', { file: this.deps.stateFile, error: (err as Error).message });
      }
    }
    return this.services.size;
  }

  /** Follows the kvstore; after its first listing, services it does not hold are removed. */
  start(): void {
    const seen = new Set<number>();
    this.watcher = this.deps.store.watch({
      upsert: (svc) => {
        if (!this.synced) seen.add(svc.id);
        this.applyAndSave(svc);
      },
      delete: (id) => this.removeAndSave(id),
      synced: () => {
        for (const id of [...this.services.keys()]) if (!seen.has(id)) this.removeAndSave(id);
        this.collectGarbage();
        this.synced = true;
      },
      invalid: (key, reason) => this.deps.log('warn', 'ignoring an invalid service in the kvstore', { key, reason }),
    });
  }

  /**
   * Validates and stores a service (cluster-wide); applied here at once, on other nodes
   * through their watch. Throws ServiceValidationError naming the field; nothing changes then.
   */
  async update(spec: ServiceSpec): Promise<Service> {
    const svc = validateService(spec, { podCidrs: this.deps.podCidrs(), maxBackends: this.deps.maxBackends });
    checkServiceUpdate(this.services.values(), svc);
    await this.deps.store.upsert(svc);
    this.applyAndSave(svc);
    return svc;
  }

  /** Deletes a service cluster-wide; ServiceNotFoundError when neither etcd nor this agent has it. */
  async delete(id: number): Promise<void> {
    const existed = await this.deps.store.delete(id);
    if (!existed && !this.services.has(id)) throw new ServiceNotFoundError(id);
    this.removeAndSave(id);
  }

  /** Deletes every service of the cluster; returns how many there were. */
  async deleteAll(): Promise<number> {
    const n = await this.deps.store.deleteAll();
    const local = this.services.size;
    for (const id of [...this.services.keys()]) this.removeAndSave(id);
    return Math.max(n, local);
  }

  /** Stops following the kvstore; the datapath keeps the services. */
  async close(): Promise<void> {
    this.watcher?.close();
    await this.saves;
  }

  // After the kvstore's listing: the datapath keeps only the live services and their backends
  // (its pinned maps may hold more than services.json knew: a crash between a map write and
  // the save, or a lost state directory).
  private collectGarbage(): void {
    try {
      const gone = this.deps.datapath?.gc?.(this.services.keys());
      if (gone && (gone.services.length > 0 || gone.backends.length > 0)) {
        this.deps.log('info', 'removed stale load-balancing entries restored from the pins', { services: gone.services, backends: gone.backends });
      }
    } catch (err) {
      this.deps.log('error', 'cannot remove stale load-balancing entries', { error: (err as Error).message });
    }
  }

  private apply(svc: Service): void {
    this.deps.datapath?.upsertService(svc);
    this.services.set(svc.id, svc);
    this.deps.changed?.('upsert', svc);
  }

  private applyAndSave(svc: Service): void {
    const cur = this.services.get(svc.id);
    if (cur && JSON.stringify(cur) === JSON.stringify(svc)) return;
    try {
      this.apply(svc);
    } catch (err) {
      this.deps.log('error', 'cannot program service into the datapath', { id: svc.id, error: (err as Error).message });
      return;
    }
    this.save();
  }

  private removeAndSave(id: number): void {
    const svc = this.services.get(id);
    if (!svc) return;
    this.deps.datapath?.deleteService(id);
    this.services.delete(id);
    this.deps.changed?.('delete', svc);
    this.save();
  }

  // Saves run one after the other (write, fsync, rename).
  private save(): void {
    const body = JSON.stringify(this.list(), null, 2) + '\n';
    const file = this.deps.stateFile;
    this.saves = this.saves
      .then(async () => {
        await writeFileAtomic(file, body);
      })
      .catch((err: Error) => this.deps.log('error', 'cannot save services', { file, error: err.message }));
  }
}
