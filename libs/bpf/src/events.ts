// The koffi-free part of the library: the datapath event record (layout, decoding, names)
// and the debug message texts, the one owner of that vocabulary. Import it as
// `@cilium-ts/bpf/events` from processes that only decode records (Hubble, the cilium and
// hubble CLIs): the package's main entry loads libbpf's FFI bindings.
export * from './event-record.js';
export * from './event-names.js';
export * from './debug-message.js';
export * from './trace-sock-record.js';
