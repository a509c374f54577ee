// @cilium-ts/flow: datapath event decoding into Hubble flows and debug events, flow filters and the flow ring buffer.
export { decodeAgentEvent } from './agent-event.js';
export {
  DATAPATH_RECORD_HEADER_LEN,
  DatapathEventType,
  DatapathRecordError,
  decodeDatapathRecord,
  encodeDatapathRecord,
  type DatapathRecord,
  type DatapathRecordInit,
} from './datapath-record.js';
export { DEBUG_RECORD_LEN, DEBUG_RECORD_TYPE, DebugRecordError, decodeDebugRecord, type DebugHubbleEvent } from './debug-event.js';
export type { HubbleEvent, HubbleEventKind } from './events.js';
export type { EndpointGetter, EndpointInfo, IdentityGetter, IdentityInfo, IPCacheGetter, IPCacheInfo } from './getters.js';
export { icmpv4TypeCodeName, icmpv6TypeCodeName } from './icmp-names.js';
export { cidrContains, formatIPv4, formatIPv6, parseCidr, parseIP, type Cidr } from './ip-address.js';
export { decodeIPPacket, decodePacket, type DecodedL4, type DecodedPacket, type TcpFlagBits } from './packet.js';
export { buildPacket, PacketSpecError, type PacketSpec } from './packet-builder.js';
export { encodeFlowEventResponse, encodeFlowResponse } from './flow-response-encoder.js';
export { copyEndpoint, EndpointResolver, type EndpointSources } from './endpoint-resolver.js';
export { DatapathFlowEvent, DROP_REASON_POLICY_DENIED } from './flow-event.js';
export { ParseError, Parser, type ParserOptions } from './parser.js';
export { reservedIdentityLabels } from './reserved-identities.js';
export { DEFAULT_RING_CAPACITY, isValidRingCapacity, RingBuffer, RingCapacityError } from './ring-buffer.js';
export { READER_END, READER_WAIT, readEvents, ReadRequestError, RingReader, validateReadRequest, type ReadOptions, type ReadRequest } from './ring-reader.js';
export { summarize, tcpFlagsText } from './summary.js';
export { FilterError, type FlowFilterKind, type FlowPredicate } from './filters/filter.js';
export { compileFlowFilter, compileFlowFilters, DEFAULT_FILTER_KINDS } from './filters/registry.js';
export { parseLabelSelector, LabelSelectorError, type LabelMatcher } from './filters/label-selector.js';
