// @cilium-ts/process: the process plumbing of every cilium-ts command — typed flags, the
// structured JSON logger and Go-style durations. Pure: no gRPC, no I/O beyond stdout/stderr.
export * from './duration.js';
export * from './flags.js';
export * from './logger.js';
