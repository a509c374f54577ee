// @cilium-ts/cilium-cli: the `cilium` command (dist/main.js). Exported for tests and for
// embedding: the dispatcher and the formatters.
export { runCli, helpText, COMMANDS, type RunOptions } from './cli.js';
export { formatMonitorEvent, monitorEventJson } from './monitor-format.js';
export { DEFAULT_AGENT_HOST, AgentConnection, AgentCallError } from './agent-connection.js';
