// Cluster-wide load-balancing services: `<p>/state/services/v1/<cluster>/<id>` -> the
// service as JSON. Not bound to a lease: a service lives until it is deleted, whichever
// node wrote it. Every agent watches the prefix and programs its datapath.
import { checkServiceUpdate, validateService, type Service } from '@cilium-ts/loadbalancer';
import type { IRequestOp, IResponseOp } from 'etcd3';
import type { KvStore } from './kvstore.js';
import type { WatchCloser } from './prefix-watch.js';

/** Callbacks of ServiceStore.watch. */
export interface ServiceWatchHandlers {
  upsert(svc: Service): void;
  delete(id: number): void;
  /** The initial listing has been delivered (every service in etcd was reported). */
  synced?(): void;
  /** A key held something that is not a valid service (skipped). */
  invalid?(key: string, reason: string): void;
}

/** Attempts of an update that keeps racing with other writers of the same id. */
const MaxAttempts = 5;

/** Parses a stored service; throws when it is not one (validated without cluster limits). */
export function parseStoredService(value: string): Service {
  return validateService(JSON.parse(value), { podCidrs: [], maxBackends: Number.MAX_SAFE_INTEGER });
}

/** Reads, writes and watches the services of one cluster. */
export class ServiceStore {
  constructor(
    private readonly kv: KvStore,
    readonly cluster: string,
  ) {}

  /**
   * Creates or replaces a service. An id keeps its frontend: a different one fails with
   * ServiceValidationError (field `frontend`), checked and written in one transaction.
   */
  async upsert(svc: Service): Promise<void> {
    const key = this.kv.keys.service(this.cluster, svc.id);
    for (let attempt = 1; ; attempt++) {
      const read = await this.kv.txn({ compare: [], success: [{ request_range: { key: Buffer.from(key) } }], failure: [] }, key);
      const cur = (read.responses as IResponseOp[])[0]?.response_range?.kvs?.[0];
      if (cur) checkServiceUpdate([parseStoredService(cur.value.toString())], svc);
      const success: IRequestOp[] = [{ request_put: { key: Buffer.from(key), value: Buffer.from(JSON.stringify(svc)) } }];
      const compare = cur
        ? [{ key: Buffer.from(key), target: 'Mod' as const, result: 'Equal' as const, mod_revision: cur.mod_revision }]
        : [{ key: Buffer.from(key), target: 'Create' as const, result: 'Equal' as const, create_revision: '0' }];
      const done = await this.kv.txn({ compare, success, failure: [] }, key);
      if (done.succeeded) return;
      if (attempt >= MaxAttempts) throw new Error(`service ${svc.id}: gave up after ${MaxAttempts} concurrent updates of ${key}; retry`);
    }
  }

  /** Deletes a service; true when it existed. */
  delete(id: number): Promise<boolean> {
    return this.kv.delete(this.kv.keys.service(this.cluster, id));
  }

  /** Deletes every service of the cluster; returns how many there were. */
  deleteAll(): Promise<number> {
    return this.kv.deletePrefix(this.kv.keys.servicesPrefix(this.cluster));
  }

  /** Reads one service; undefined when absent. */
  async get(id: number): Promise<Service | undefined> {
    const v = await this.kv.get(this.kv.keys.service(this.cluster, id));
    return v === undefined ? undefined : parseStoredService(v);
  }

  /** Reports services as they appear, change and disappear (list, then watch; resyncs after outages). */
  watch(handlers: ServiceWatchHandlers): WatchCloser {
    const base = this.kv.keys.servicesPrefix(this.cluster);
    const idOf = (key: string): number | undefined => {
      const rest = key.slice(base.length);
      return /^\d+$/.test(rest) ? Number(rest) : undefined;
    };
    return this.kv.watchPrefix(base, {
      put: (key, value) => {
        let svc: Service;
        try {
          svc = parseStoredService(value);
        } catch (err) {
          handlers.invalid?.(key, (err as Error).message);
          return;
        }
        if (svc.id !== idOf(key)) {
          handlers.invalid?.(key, `holds service ${svc.id}`);
          return;
        }
        handlers.upsert(svc);
      },
      delete: (key) => {
        const id = idOf(key);
        if (id !== undefined) handlers.delete(id);
      },
      synced: () => handlers.synced?.(),
    });
  }
}
