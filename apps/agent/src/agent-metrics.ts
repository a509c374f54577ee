/**
 * The agent's Prometheus metrics under Cilium's names (so existing dashboards and alerts
 * work), through the OpenTelemetry global meter that @cilium-ts/grpc's startTelemetry
 * installs (counters get `_total` from the exporter). Kernel counters and state are read
 * when /metrics is scraped (one batch callback: the metrics map is read once per scrape),
 * never per packet in Node; durations are recorded as they happen.
 */
import { metrics, type Meter } from '@opentelemetry/api';
import { dropReasonText, type MetricsEntry } from '@cilium-ts/bpf';
import type { KvOperationRecord, KvWatchEventRecord } from '@cilium-ts/kvstore';

/** Identities below this are reserved ones (host, world, ...). */
const MinClusterIdentity = 256;

/** Histogram buckets (seconds) of regeneration and kvstore operation durations. */
const DurationBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** What the metrics read of the running agent. */
export interface AgentMetricsSources {
  /** The kernel's forward / drop counters (reason 0 = forwarded), summed over CPUs. */
  datapathCounters(): MetricsEntry[];
  /** The endpoints (their states). */
  endpoints(): ReadonlyArray<{ state: string }>;
  /** Security identities known to this node ([id, labels]). */
  identities(): ReadonlyArray<readonly [number, readonly string[]]>;
  /** The policy repository (PolicyStore): its size and the CIDR identities its rules need. */
  policy: { repo: { size: number }; prefixIdentities(): readonly unknown[] };
  /** The cluster-wide revision enforced and failed imports (ClusterPolicy). */
  clusterPolicy: { revision: number; importErrors: number };
  /** The kvstore's finished operations and delivered watch events (KvStore's 'operation' and 'watchEvent' events). */
  kv: {
    on(event: 'operation', listener: (op: KvOperationRecord) => void): unknown;
    on(event: 'watchEvent', listener: (ev: KvWatchEventRecord) => void): unknown;
  };
  /** Pinned maps with a maximum and their entries in use, read from the kernel at scrape (listPinnedMaps). */
  mapFill(): ReadonlyArray<{ name: string; maxEntries: number; entries?: number }>;
  /** How many cluster nodes this node has no path to (see unreachableNodes in node-reachability.ts). */
  unreachableNodes(): number;
}

/** The agent's metrics; record* are called where things happen. */
export class AgentMetrics {
  private readonly regeneration;

  constructor(s: AgentMetricsSources, meter: Meter = metrics.getMeter('@cilium-ts/agent')) {
    const dropCount = meter.createObservableCounter('cilium_drop_count', { description: 'Total dropped packets, tagged by drop reason and ingress/egress direction' });
    const dropBytes = meter.createObservableCounter('cilium_drop_bytes', { description: 'Total dropped bytes, tagged by drop reason and ingress/egress direction' });
    const forwardCount = meter.createObservableCounter('cilium_forward_count', { description: 'Total forwarded packets, tagged by ingress/egress direction' });
    const forwardBytes = meter.createObservableCounter('cilium_forward_bytes', { description: 'Total forwarded bytes, tagged by ingress/egress direction' });
    meter.addBatchObservableCallback(
      (r) => {
        for (const m of s.datapathCounters()) {
          const direction = m.direction.toUpperCase();
          if (m.reason === 0) {
            r.observe(forwardCount, Number(m.packets), { direction });
            r.observe(forwardBytes, Number(m.bytes), { direction });
          } else {
            const reason = dropReasonText(m.reason);
            r.observe(dropCount, Number(m.packets), { reason, direction });
            r.observe(dropBytes, Number(m.bytes), { reason, direction });
          }
        }
      },
      [dropCount, dropBytes, forwardCount, forwardBytes],
    );

    meter.createObservableGauge('cilium_endpoint', { description: 'Number of endpoints managed by this agent' }).addCallback((r) => r.observe(s.endpoints().length));
    meter.createObservableGauge('cilium_endpoint_state', { description: 'Count of all endpoints, tagged by different endpoint states' }).addCallback((r) => {
      const by = new Map<string, number>();
      for (const ep of s.endpoints()) by.set(ep.state, (by.get(ep.state) ?? 0) + 1);
      for (const [state, n] of by) r.observe(n, { endpoint_state: state });
    });
    this.regeneration = meter.createHistogram('cilium_endpoint_regeneration_time_stats_seconds', {
      description: 'Endpoint regeneration time stats labeled by the scope',
      advice: { explicitBucketBoundaries: DurationBuckets },
    });

    meter.createObservableGauge('cilium_policy', { description: 'Number of policy rules loaded' }).addCallback((r) => r.observe(s.policy.repo.size));
    meter
      .createObservableGauge('cilium_policy_max_revision', { description: 'Highest policy revision number in the agent' })
      .addCallback((r) => r.observe(s.clusterPolicy.revision));
    meter
      .createObservableCounter('cilium_policy_import_errors', { description: 'Number of times a policy import has failed' })
      .addCallback((r) => r.observe(s.clusterPolicy.importErrors));
    meter.createObservableGauge('cilium_identity', { description: 'Number of identities currently allocated' }).addCallback((r) => {
      let reserved = 0;
      let cluster = 0;
      for (const [id] of s.identities()) {
        if (id < MinClusterIdentity) reserved++;
        else cluster++;
      }
      r.observe(cluster, { type: 'cluster_local' });
      r.observe(reserved, { type: 'reserved' });
      r.observe(s.policy.prefixIdentities().length, { type: 'node_local' });
    });

    const kvDuration = meter.createHistogram('cilium_kvstore_operations_duration_seconds', {
      description: 'Duration in seconds of kvstore operations',
      advice: { explicitBucketBoundaries: DurationBuckets },
    });
    s.kv.on('operation', (op: KvOperationRecord) => kvDuration.record(op.durationMs / 1000, { action: op.operation, outcome: op.ok ? 'success' : 'failure' }));
    const kvQueue = meter.createHistogram('cilium_kvstore_events_queue_seconds', {
      description: 'Seconds waited before a received event was queued',
      advice: { explicitBucketBoundaries: DurationBuckets },
    });
    s.kv.on('watchEvent', (ev: KvWatchEventRecord) => kvQueue.record(ev.queuedMs / 1000, { scope: ev.prefix, action: ev.action }));

    meter.createObservableGauge('cilium_bpf_map_pressure', { description: 'Fill percentage of map, tagged by map name' }).addCallback((r) => {
      for (const m of s.mapFill()) if (m.entries !== undefined && m.maxEntries > 0) r.observe(m.entries / m.maxEntries, { map_name: m.name });
    });
    meter.createObservableGauge('cilium_unreachable_nodes', { description: 'Number of nodes that cannot be reached' }).addCallback((r) => r.observe(s.unreachableNodes()));
  }

  /** One endpoint regeneration took durationMs. */
  recordRegeneration(durationMs: number, ok: boolean): void {
    this.regeneration.record(durationMs / 1000, { scope: 'total', outcome: ok ? 'success' : 'failure' });
  }
}
