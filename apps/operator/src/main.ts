#!/usr/bin/env node
// cilium-operator: one per cluster. Config, wiring and lifecycle live here.
import { checkMetricsHost, metricsHostFlag, onShutdown, packageVersion, serve, startTelemetry } from '@cilium-ts/grpc';
import { createLogger, defineFlags, isLogLevel, type LogLevel } from '@cilium-ts/process';
import { KvStore, kvstoreTlsFlags, readKvStoreTls, type KvLogger, type KvStoreTls } from '@cilium-ts/kvstore';
import { DurationError, parseDuration } from '@cilium-ts/process';
import { CidrPool, CidrPoolConfigError } from './cidr-pool.js';
import { Operator } from './operator.js';
import { registerOperatorMetrics } from './metrics.js';
import { operatorService } from './status-service.js';

const flags = defineFlags(
  {
    kvstoreEndpoints: { type: 'string[]', default: ['http://127.0.0.1:2379'], env: 'CILIUM_KVSTORE_ENDPOINTS', description: 'etcd client URLs (comma-separated or repeated)' },
    kvstorePrefix: { type: 'string', default: 'cilium', env: 'CILIUM_KVSTORE_PREFIX', description: 'prefix of every key in etcd' },
    ...kvstoreTlsFlags,
    clusterName: { type: 'string', default: 'default', env: 'CILIUM_CLUSTER_NAME', description: 'name of the cluster whose nodes this operator manages' },
    clusterPoolIpv4Cidr: { type: 'string', default: '10.200.0.0/16', description: 'IPv4 pool that per-node pod CIDRs are cut from' },
    clusterPoolIpv4MaskSize: { type: 'number', default: 24, description: 'prefix length of each node\'s pod CIDR' },
    clusterPoolIpv6Cidr: {
      type: 'string',
      default: 'fd00:10:200::/104',
      description: 'IPv6 pool that per-node IPv6 pod CIDRs are cut from (dual-stack agents use them); empty = no IPv6 pool',
    },
    clusterPoolIpv6MaskSize: { type: 'number', default: 120, description: 'prefix length of each node\'s IPv6 pod CIDR (/64 to /126; 120 = 256 addresses)' },
    listen: { type: 'string[]', default: ['unix:///run/cilium-ts/operator.sock'], description: 'gRPC listen addresses: unix:///path or host:port' },
    metricsPort: { type: 'number', default: 0, description: 'serve Prometheus metrics on this port (0: off)' },
    ...metricsHostFlag,
    identityGcInterval: { type: 'string', default: '15m', description: 'how often unused identities are garbage-collected' },
    identityGcGrace: { type: 'string', default: '30m', description: 'how long an identity must be unreferenced before it is deleted' },
    heartbeatInterval: { type: 'string', default: '15s', description: 'how often <prefix>/.heartbeat is written' },
    leaderElectionTtl: { type: 'string', default: '15s', description: 'lease TTL of the leader election' },
    logLevel: { type: 'string', default: 'info', env: 'CILIUM_LOG_LEVEL', description: 'debug, info, warn or error' },
  },
  { program: 'cilium-operator', summary: 'cilium-ts operator: cluster-pool IPAM, identity GC and the kvstore heartbeat, one per cluster.' },
);

function fail(message: string): never {
  process.stderr.write(`cilium-operator: ${message}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  const { values } = flags.parseOrExit();
  if (!isLogLevel(values.logLevel)) fail(`--log-level: "${values.logLevel}" is not one of debug, info, warn, error`);
  try {
    checkMetricsHost(values.metricsHost);
  } catch (err) {
    fail((err as Error).message);
  }
  let kvstoreTls: KvStoreTls | undefined;
  try {
    kvstoreTls = readKvStoreTls(values, values.kvstoreEndpoints);
  } catch (err) {
    fail((err as Error).message);
  }
  let gcInterval = 0;
  let gcGrace = 0;
  let heartbeat = 0;
  let electionTtl = 0;
  try {
    gcInterval = parseDuration(values.identityGcInterval, 'identity-gc-interval');
    gcGrace = parseDuration(values.identityGcGrace, 'identity-gc-grace');
    heartbeat = parseDuration(values.heartbeatInterval, 'heartbeat-interval');
    electionTtl = Math.max(2, Math.ceil(parseDuration(values.leaderElectionTtl, 'leader-election-ttl') / 1000));
    new CidrPool(values.clusterPoolIpv4Cidr, values.clusterPoolIpv4MaskSize);
    if (values.clusterPoolIpv6Cidr) {
      if (!values.clusterPoolIpv6Cidr.includes(':')) fail(`--cluster-pool-ipv6-cidr: "${values.clusterPoolIpv6Cidr}" is not an IPv6 network`);
      new CidrPool(values.clusterPoolIpv6Cidr, values.clusterPoolIpv6MaskSize);
    }
  } catch (err) {
    if (err instanceof DurationError || err instanceof CidrPoolConfigError) fail(err.message);
    throw err;
  }
  if (gcInterval <= 0 || heartbeat <= 0) fail('--identity-gc-interval and --heartbeat-interval must be positive');

  const logger = createLogger('operator', { level: values.logLevel as LogLevel });
  const kvLog: KvLogger = (level, msg, fields) => logger[level](msg, fields);
  await startTelemetry({ serviceName: 'cilium-operator', metricsPort: values.metricsPort > 0 ? values.metricsPort : undefined, metricsHost: values.metricsHost, logger });

  // The operator may start before etcd: keep trying, saying why.
  let kv: KvStore | undefined;
  for (let delay = 500; !kv; delay = Math.min(delay * 2, 10_000)) {
    try {
      kv = await KvStore.connect({ endpoints: values.kvstoreEndpoints, prefix: values.kvstorePrefix, tls: kvstoreTls, log: kvLog });
    } catch (err) {
      logger.warn('kvstore not reachable yet; retrying', { error: (err as Error).message, retryInMs: delay });
      await new Promise((r) => setTimeout(r, delay));
    }
  }
  const store = kv;

  const op = new Operator(store, {
    clusterName: values.clusterName,
    poolCidr: values.clusterPoolIpv4Cidr,
    maskSize: values.clusterPoolIpv4MaskSize,
    poolCidrV6: values.clusterPoolIpv6Cidr || undefined,
    maskSizeV6: values.clusterPoolIpv6MaskSize,
    identityGcIntervalMs: gcInterval,
    identityGcGraceMs: gcGrace,
    heartbeatIntervalMs: heartbeat,
    electionTtlSeconds: electionTtl,
    version: packageVersion(import.meta.url),
    log: kvLog,
  });
  onShutdown(async () => {
    await op.stop();
    await store.close();
  });
  registerOperatorMetrics(op);
  op.start();
  await serve({ component: 'operator', services: [operatorService(op)], addresses: values.listen, logger });
  logger.info('operator started', { id: op.id, cluster: values.clusterName, pool: values.clusterPoolIpv4Cidr, mask: values.clusterPoolIpv4MaskSize, poolV6: values.clusterPoolIpv6Cidr, maskV6: values.clusterPoolIpv6MaskSize });
}

main().catch((err: unknown) => {
  process.stderr.write(`cilium-operator: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
