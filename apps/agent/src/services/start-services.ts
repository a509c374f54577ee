/**
 * Wiring of the agent's load-balancing services: the ServiceManager over the kvstore's
 * ServiceStore, restored from `<state-dir>/services.json` and then following the kvstore.
 */
import { join } from 'node:path';
import type { Logger } from '@cilium-ts/grpc';
import { ServiceStore, type KvStore } from '@cilium-ts/kvstore';
import { DefaultMaxBackendsPerService } from '@cilium-ts/loadbalancer';
import { ServiceManager, type ServiceDatapath } from './service-manager.js';

/** What startServices needs of the agent. */
export interface StartServicesDeps {
  kv: KvStore;
  cfg: { clusterName: string; stateDir: string };
  podCidrs(): string[];
  datapath?: ServiceDatapath;
  log: Logger;
}

/** Restores the last known services into the datapath, then follows the kvstore. */
export async function startServices(deps: StartServicesDeps): Promise<ServiceManager> {
  const { cfg, log } = deps;
  const services = new ServiceManager({
    store: new ServiceStore(deps.kv, cfg.clusterName),
    datapath: deps.datapath,
    stateFile: join(cfg.stateDir, 'services.json'),
    podCidrs: deps.podCidrs,
    maxBackends: DefaultMaxBackendsPerService,
    log: (level, msg, fields) => log[level](msg, { subsys: 'service', ...fields }),
  });
  const restored = await services.restore();
  if (restored > 0) log.info('restored services', { services: restored });
  services.start();
  return services;
}
