// @cilium-ts/api: the protobuf code generated from proto/ (ts-proto, grpc-js
// services, bigint 64-bit integers, Timestamps with nanoseconds), one namespace
// per proto package, plus the descriptor set and Timestamp helpers.

/** Hubble flows, filters, lost/agent/debug events (proto package `flow`). */
export * as flow from './generated/flow/flow.js';
/** Hubble observer service: GetFlows, events, nodes, status (proto package `observer`). */
export * as observer from './generated/observer/observer.js';
/** Hubble peer discovery service (proto package `peer`). */
export * as peer from './generated/peer/peer.js';
/** Hubble relay node status types (proto package `relay`). */
export * as relay from './generated/relay/relay.js';
/** Standard gRPC health checking (proto package `grpc.health.v1`). */
export * as health from './generated/grpc/health/v1/health.js';
/** Standard gRPC server reflection (proto package `grpc.reflection.v1`). */
export * as reflectionV1 from './generated/grpc/reflection/v1/reflection.js';
/** Legacy gRPC server reflection (proto package `grpc.reflection.v1alpha`). */
export * as reflectionV1alpha from './generated/grpc/reflection/v1alpha/reflection.js';
/** The cilium-ts agent API (proto package `cilium.agent.v1`). */
export * as agent from './generated/cilium/agent/v1/agent.js';
/** The agent's load-balancing API: services and LB maps (proto package `cilium.agent.v1`, file lb.proto). */
export * as lb from './generated/cilium/agent/v1/lb.js';
/** This node's pinned BPF maps, the endpoints map and tunnels (proto package `cilium.agent.v1`, file maps.proto). */
export * as maps from './generated/cilium/agent/v1/maps.js';
/** Raw kvstore access, cilium kvstore get|set|delete (proto package `cilium.agent.v1`, file kvstore.proto). */
export * as kvstore from './generated/cilium/agent/v1/kvstore.js';
/** Endpoint troubleshooting, cilium endpoint regenerate|labels|log|health (proto package `cilium.agent.v1`, file endpoint_ops.proto). */
export * as endpointOps from './generated/cilium/agent/v1/endpoint_ops.js';
/** The agent's selector cache, cilium policy selectors (proto package `cilium.agent.v1`, file policy_selectors.proto). */
export * as policySelectors from './generated/cilium/agent/v1/policy_selectors.js';
/** The agent's runtime-mutable options, cilium config KEY=VALUE (proto package `cilium.agent.v1`, file daemon_config.proto). */
export * as daemonConfig from './generated/cilium/agent/v1/daemon_config.js';
/** The agent's recent log records, for cilium debuginfo (proto package `cilium.agent.v1`, file agent_log.proto). */
export * as agentLog from './generated/cilium/agent/v1/agent_log.js';
/** The DNS cache of toFQDNs, cilium fqdn cache list|clean (proto package `cilium.agent.v1`, file fqdn.proto). */
export * as fqdn from './generated/cilium/agent/v1/fqdn.js';
/** The cilium-ts operator API (proto package `cilium.operator.v1`). */
export * as operator from './generated/cilium/operator/v1/operator.js';
/** The cilium-ts L7 proxy API (proto package `cilium.proxy.v1`). */
export * as proxy from './generated/cilium/proxy/v1/proxy.js';
/** google.protobuf wrapper messages (BoolValue, UInt32Value, ...). */
export * as wrappers from './generated/google/protobuf/wrappers.js';
/** google.protobuf.Timestamp and helpers between it and nanoseconds. */
export * as timestamp from './timestamp.js';

export {
  Timestamp,
  compareTimestamps,
  dateFromTimestamp,
  nanosFromTimestamp,
  timestampFromDate,
  timestampFromMillis,
  timestampFromNanos,
  timestampNow,
} from './timestamp.js';
export { descriptorSetPath } from './descriptor-set.js';
