/**
 * The agent's way into the kvstore: connecting with retries until a deadline, and waiting
 * for the operator to assign this node's pod CIDR.
 */
import type { Logger } from '@cilium-ts/process';
import { DefaultKvstoreLeaseTtlSeconds, KvStore, type KvStoreTls } from '@cilium-ts/kvstore';

/** What connecting needs of the agent's configuration. */
export interface KvstoreConnectConfig {
  kvstoreEndpoints: string[];
  kvstoreTls?: KvStoreTls;
  kvstorePrefix: string;
  /** Seconds to keep retrying. */
  kvstoreConnectTimeout: number;
  kvstoreLeaseTtlSeconds?: number;
}

/** Connects to etcd, retrying until `kvstoreConnectTimeout`; the error names the endpoints and a hint. */
export async function connectKvstore(cfg: KvstoreConnectConfig, log: Logger): Promise<KvStore> {
  const deadline = Date.now() + cfg.kvstoreConnectTimeout * 1000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await KvStore.connect({
        endpoints: cfg.kvstoreEndpoints,
        prefix: cfg.kvstorePrefix,
        tls: cfg.kvstoreTls,
        sessionTtlSeconds: cfg.kvstoreLeaseTtlSeconds ?? DefaultKvstoreLeaseTtlSeconds,
        // Notice an outage and the return of etcd within a second or two.
        healthIntervalMs: 1000,
        log: (level, msg, fields) => log[level](msg, { subsys: 'kvstore', ...fields }),
      });
    } catch (err) {
      if (Date.now() > deadline) {
        throw new Error(`cannot reach the kvstore at ${cfg.kvstoreEndpoints.join(',')} within ${cfg.kvstoreConnectTimeout}s: ${(err as Error).message} (is etcd running? see tools/etcd)`, { cause: err });
      }
      log.warn('kvstore not reachable yet; retrying', { attempt, error: (err as Error).message });
      await new Promise((r) => setTimeout(r, Math.min(2000, 200 * attempt)));
    }
  }
}

/** Waits (up to 30 s) for the operator's pod CIDR of `family` for `nodeName`. */
export async function waitForPodCidr(kv: KvStore, nodeName: string, family: 'ipv4' | 'ipv6', log: Logger): Promise<string> {
  const key = family === 'ipv4' ? kv.keys.ipamNode(nodeName) : kv.keys.ipamNodeV6(nodeName);
  log.info(`waiting for the operator to assign an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} pod CIDR`, { key });
  for (let i = 0; ; i++) {
    const v = await kv.get(key).catch(() => undefined);
    if (v) return v.trim();
    if (i === 150) {
      const hint = family === 'ipv4' ? 'is cilium-operator running? (or pass --pod-cidr)' : 'is cilium-operator running with --cluster-pool-ipv6-cidr? (or pass --pod-cidr-v6)';
      throw new Error(`no ${family === 'ipv4' ? 'IPv4' : 'IPv6'} pod CIDR assigned to node ${nodeName} after 30s: ${hint}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
