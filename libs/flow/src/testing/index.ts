// @cilium-ts/flow/testing: for tests and benchmarks only (not part of the main export): real
// Ethernet/IP/L4 frames from a spec, as a datapath record's packet.
export { buildPacket, PacketSpecError, type PacketSpec } from './packet-builder.js';
