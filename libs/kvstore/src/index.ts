// @cilium-ts/kvstore: etcd access for cilium-ts (connection, key layout, identities,
// node registrations, ipcache, and a helper that runs Debian's etcd).
export * from './errors.js';
export * from './lease-ttl.js';
export * from './keys.js';
export * from './lease.js';
export type * from './kv-types.js';
export * from './kvstore.js';
export * from './kvstore-tls.js';
export type { PrefixWatchHandlers, WatchCloser } from './prefix-watch.js';
export * from './identity-allocator.js';
export * from './node-registry.js';
export * from './ipcache-sync.js';
export * from './service-store.js';
export * from './cluster-policy-store.js';
export * from './heartbeat-monitor.js';
export * from './pod-cidr-assignments.js';
export * from './etcd-process.js';
