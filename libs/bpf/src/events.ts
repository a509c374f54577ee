// The koffi-free part of the library: datapath event records and debug message texts.
// Import it as `@cilium-ts/bpf/events` from processes that only decode records (Hubble,
// the cilium CLI): the package's main entry loads libbpf's FFI bindings.
export * from './event-record.js';
export * from './debug-message.js';
