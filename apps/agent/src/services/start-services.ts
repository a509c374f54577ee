/**
 * Wiring of the agent's load-balancing services: the socket load balancer (libs/bpf's
 * SocketLb: maps pinned under the node's pin directory, programs attached to
 * --cgroup-root when given) and the ServiceManager over the kvstore's ServiceStore,
 * restored from `<state-dir>/services.json` and then following the kvstore.
 */
import { join } from 'node:path';
import { type LbAlgorithm, SocketLb } from '@cilium-ts/bpf';
import type { Logger } from '@cilium-ts/process';
import { ServiceStore, type KvStore } from '@cilium-ts/kvstore';
import { DefaultMaxBackendsPerService, type Service } from '@cilium-ts/loadbalancer';
import { ServiceManager } from './service-manager.js';

/** What startServices needs of the agent. */
export interface StartServicesDeps {
  kv: KvStore;
  cfg: { clusterName: string; stateDir: string; bpfPinDir: string; cgroupRoot?: string; lbAlgorithm?: LbAlgorithm; maglevTableSize?: number };
  podCidrs(): string[];
  log: Logger;
  /** Hears every change of the served services. */
  changed?(kind: 'upsert' | 'delete', svc: Service): void;
}

/** Loads the socket load balancer, restores the last known services into it, then follows the kvstore. */
export async function startServices(deps: StartServicesDeps): Promise<{ services: ServiceManager; socketLb: SocketLb }> {
  const { cfg, log } = deps;
  const socketLb = SocketLb.open({ pinDir: cfg.bpfPinDir, algorithm: cfg.lbAlgorithm, maglevTableSize: cfg.maglevTableSize });
  try {
    if (cfg.cgroupRoot) {
      socketLb.attachCgroup(cfg.cgroupRoot);
      log.info('socket load balancing attached', { cgroup: cfg.cgroupRoot, algorithm: socketLb.algorithm, ...(socketLb.algorithm === 'maglev' ? { maglevTableSize: socketLb.maglevTableSize } : {}) });
    }
    const services = new ServiceManager({
      store: new ServiceStore(deps.kv, cfg.clusterName),
      datapath: socketLb,
      stateFile: join(cfg.stateDir, 'services.json'),
      podCidrs: deps.podCidrs,
      maxBackends: DefaultMaxBackendsPerService,
      log: (level, msg, fields) => log[level](msg, { subsys: 'service', ...fields }),
      changed: deps.changed,
    });
    const restored = await services.restore();
    if (restored > 0) log.info('restored services', { services: restored });
    services.start();
    return { services, socketLb };
  } catch (err) {
    socketLb.close();
    throw err;
  }
}
