// @cilium-ts/loadbalancer: the service model (frontends, backends, validation) and
// Maglev lookup tables. Pure: no kvstore, no gRPC, no BPF.
export * from './service.js';
export * from './service-error.js';
export * from './service-validate.js';
export * from './maglev.js';
