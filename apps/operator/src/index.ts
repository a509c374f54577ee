// @cilium-ts/operator: the operator's parts, for tests and for embedding in the lab.
export * from './cidr-pool.js';
export * from './heartbeat.js';
export * from './identity-gc.js';
export * from './ipam-controller.js';
export * from './leader-election.js';
export * from './metrics.js';
export * from './operator.js';
export * from './status-service.js';
