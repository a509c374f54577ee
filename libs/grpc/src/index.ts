// @cilium-ts/grpc: the gRPC bootstrap every cilium-ts service and CLI uses.
export * from './client.js';
export * from './descriptor-pool.js';
export * from './errors.js';
export * from './flags.js';
export * from './framed-writer.js';
export * from './health.js';
export * from './listen-address.js';
export * from './logger.js';
export * from './raw-client-stream.js';
export * from './raw-grpc.js';
export * from './reflection.js';
export * from './rpc-instrumentation.js';
export * from './server.js';
export * from './shutdown.js';
export * from './status-text.js';
export * from './stream-tracker.js';
export * from './telemetry.js';
