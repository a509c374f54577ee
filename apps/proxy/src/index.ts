// @cilium-ts/proxy: the per-node L7 proxy (library surface for tests and the agent).
export * from './http-listener.js';
export * from './policy-table.js';
export * from './proxy.js';
export * from './proxy-service.js';
export * from './socket-options.js';
export * from './tproxy-rules.js';
