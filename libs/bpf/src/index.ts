// @cilium-ts/bpf: the TypeScript side of the eBPF datapath (libbpf via koffi).
export { Datapath, type AttachMode, type CtEntry, type CtGcResult, type DatapathOptions, type EndpointDatapathSpec, type EndpointProgram, type LocalDelivery, type MetricsEntry, type OverlayAttachResult } from './datapath.js';
export type { PolicyEntry, Direction, EndpointInfo, CtKey, CtValue, PolicyKey, PolicyValue, Codec } from './map-codecs.js';
export { policyMapEntries, POLICY_MAP_MAX_ENTRIES } from './map-codecs.js';
export * from './debug-message.js';
export { EventReader, type EventReaderOptions } from './event-reader.js';
export * from './event-record.js';
export * from './event-names.js';
export { probeKernelFeatures, isBpffs, redirectPeerSupported, type KernelFeature } from './features.js';
export { BpfError, BpfLoadError, DatapathInputError, TcError, errnoName } from './errors.js';
export { BpfMap, MapType, UpdateFlags } from './bpf-map.js';
export { ctExpired, ctLifetimeNs, ctState, DEFAULT_CT_TIMEOUTS, type CtState, type CtTimeouts } from './ct-gc.js';
export { parseCidr, parseIp, formatCidr, formatIp, type Cidr, type IpBytes } from './ip-address.js';
export { tcAttach, tcDetach, tcAttachedProgramId, linkIfindex, inNetns, type TcHook, type TcTarget } from './tc-attach.js';
export { buildPacket, buildIpPacket, Proto, TcpFlags, type PacketSpec } from './packet-builder.js';
export { tcxAttach, tcxDetach, tcxLink, tcxSupported, TcxAttachType } from './tcx-attach.js';
export type { PinnedProgram } from './pinned-program.js';
export { tunnelConfig, type TunnelConfig } from './tunnel-config.js';
export { proxyReadyKey, proxyReadyValue, type ProxyReadyKey, type ProxyReadyValue } from './proxy-ready.js';
