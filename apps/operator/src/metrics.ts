// The operator's own Prometheus metrics (through the OpenTelemetry global meter that
// @cilium-ts/grpc's startTelemetry installs).
import { metrics } from '@opentelemetry/api';
import type { Operator } from './operator.js';

/** Registers observable gauges of leadership, pod CIDR allocations and identities. */
export function registerOperatorMetrics(op: Operator): void {
  const meter = metrics.getMeter('@cilium-ts/operator');
  meter
    .createObservableGauge('cilium_operator_is_leader', { description: '1 while this operator is the elected leader' })
    .addCallback((r) => r.observe(op.election.isLeader ? 1 : 0));
  meter
    .createObservableGauge('cilium_operator_ipam_allocated_cidrs', { description: 'Pod CIDRs assigned from the cluster pool' })
    .addCallback((r) => r.observe(op.ipam.allocations().size));
  meter
    .createObservableGauge('cilium_operator_ipam_pool_capacity', { description: 'Per-node blocks in the cluster pool' })
    .addCallback((r) => r.observe(op.ipam.capacity));
  meter
    .createObservableGauge('cilium_operator_identities', { description: 'Identities in the kvstore at the last GC pass' })
    .addCallback((r) => r.observe(op.identityGc.identities));
  meter
    .createObservableCounter('cilium_operator_identity_gc_deleted', { description: 'Identities deleted by the identity GC' })
    .addCallback((r) => r.observe(op.identityGc.deletedTotal));
  meter
    .createObservableCounter('cilium_operator_node_gc_deleted', { description: 'Keys of removed nodes (identity references, ipcache entries) deleted by the node GC' })
    .addCallback((r) => r.observe(op.nodeGc.deletedTotal));
}
