// @cilium-ts/kvstore/testing: a throwaway etcd for tests (this lib's, the operator's and the agent's).
export * from './test-etcd.js';
