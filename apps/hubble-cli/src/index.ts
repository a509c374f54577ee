// @cilium-ts/hubble-cli: the `hubble` command. Exported pieces are for tests and for tools
// that want the same rendering (e.g. the lab's checks).
export { runCli } from './cli.js';
export { parseArgs, FlagValues, UsageError, type FlagSpec, type ParsedArgs } from './args.js';
export { FlowFilterBuilder } from './filter-builder.js';
export { buildGetFlowsRequest, ALL_FLOWS, DEFAULT_FLOW_COUNT } from './observe-request.js';
export { Printer, nodeStatusLine, joinWithCutOff, type PrinterOptions } from './printer.js';
export { resolveOutputFormat, type OutputFormat } from './output-format.js';
export { Colorer, type ColorMode } from './colorer.js';
export { flowTypeText, hostNames, verdictText } from './flow-text.js';
export { toProtoJson, fromProtoJson, goJson } from './proto-json.js';
export { parseTimeArg } from './time-parse.js';
export { formatStampMilli, formatTimestamp, isTimeFormat, TIME_FORMATS, type TimeFormat } from './timestamp-format.js';
export { formatServerStatus, formatServerStatusDict, formatServerStatusTable } from './status-command.js';
export { AgentEventPrinter, buildAgentEventsRequest } from './agent-events-command.js';
export { buildDebugEventsRequest, DebugEventPrinter } from './debug-events-command.js';
export { agentEventDetails, agentEventTypeName } from './agent-event-text.js';
export { formatNodesTable } from './list-nodes-command.js';
export type { Io } from './global-flags.js';
