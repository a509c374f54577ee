// `hubble observe agent-events`: GetAgentEvents with upstream's selectors and output formats.
import { flow, observer } from '@cilium-ts/api';
import { agentEventDetails, agentEventTypeName } from './agent-event-text.js';
import { formatHelp, type FlagSpec, type FlagValues } from './args.js';
import { EventPrinterBase, eventWindow, parseEventCommand } from './event-command.js';
import { GLOBAL_FLAGS, type Io } from './global-flags.js';
import { runObserverStream } from './observer-stream.js';
import { ALL_FLOWS, DEFAULT_FLOW_COUNT } from './observe-request.js';
import { goJson, toProtoJson } from './proto-json.js';
import { formatTimestamp, TIME_FORMATS } from './timestamp-format.js';

const s = (name: string, help: string, short?: string): FlagSpec => ({ name, kind: 'string', help, short });
const b = (name: string, help: string, short?: string): FlagSpec => ({ name, kind: 'bool', help, short });

/** AGENT_EVENTS_FLAGS are the flags of `hubble observe agent-events`. */
export const AGENT_EVENTS_FLAGS: FlagSpec[] = [
  s('last', 'Get the last N events (default 20)'), b('all', 'Get all events stored in the server\'s buffer'),
  b('follow', 'Follow events output', 'f'), s('since', 'Events since this time (duration such as 5m, or RFC3339)'),
  s('until', 'Events until this time (duration such as 5m, or RFC3339)'),
  { ...s('output', 'Output format: compact, dict, json, jsonpb, table', 'o'), default: 'compact' },
  { ...s('time-format', `Time format: ${TIME_FORMATS.join(', ')}`), default: 'StampMilli' },
  b('print-node-name', 'Print the node name in compact, dict and table output'),
];

const HELP = formatHelp('hubble observe agent-events [flags]', 'Observe Cilium agent events (policy, endpoint, ipcache and service changes).', [
  ...AGENT_EVENTS_FLAGS,
  ...GLOBAL_FLAGS,
]);

/**
 * buildAgentEventsRequest turns the selector flags into the request hubble sends: number 20 by
 * default (also with -f), --last N, --all = 2^64−1, since/until as for flows.
 */
export function buildAgentEventsRequest(flags: FlagValues, nowNanos?: bigint): observer.GetAgentEventsRequest {
  let number = flags.has('last') ? flags.uint('last') : DEFAULT_FLOW_COUNT;
  if (flags.bool('all')) number = ALL_FLOWS;
  return observer.GetAgentEventsRequest.fromPartial({ number, ...eventWindow(flags, nowNanos) });
}

/** AgentEventPrinter renders GetAgentEventsResponses like upstream's WriteProtoAgentEvent. */
export class AgentEventPrinter extends EventPrinterBase {
  /** response renders one response (responses without an agent event are skipped). */
  response(r: observer.GetAgentEventsResponse): void {
    const e = r.agentEvent;
    if (!e) return;
    const o = this.opts;
    const time = formatTimestamp(o.timeFormat, r.time);
    const type = agentEventTypeName(e);
    const details = agentEventDetails(e, o.timeFormat);
    switch (o.output) {
      case 'json':
        o.out(`${goJson(toProtoJson('flow.AgentEvent', flow.AgentEvent, e))}\n`);
        break;
      case 'jsonpb':
        o.out(`${goJson(toProtoJson('observer.GetAgentEventsResponse', observer.GetAgentEventsResponse, r))}\n`);
        break;
      case 'dict':
        o.out(
          this.dictSeparator() +
            `  TIMESTAMP: ${time}\n` +
            (o.printNodeName ? `       NODE: ${r.nodeName}\n` : '') +
            `       TYPE: ${type}\n` +
            `    DETAILS: ${details}\n`,
        );
        break;
      case 'table':
        if (this.line === 0) this.rows.push(['TIMESTAMP', ...(o.printNodeName ? ['NODE'] : []), 'TYPE', 'DETAILS']);
        this.rows.push([time, ...this.nodeCells(r.nodeName), type, details]);
        break;
      default:
        o.out(`${time}${o.printNodeName ? ` [${r.nodeName}]` : ''}: ${type} (${details})\n`);
    }
    this.line++;
  }
}

/** runObserveAgentEvents implements `hubble observe agent-events`; resolves to the exit status. */
export async function runObserveAgentEvents(argv: string[], io: Io): Promise<number> {
  const cmd = parseEventCommand(argv, io, AGENT_EVENTS_FLAGS, 'agent-events', HELP);
  if (!cmd) return 0;
  const req = buildAgentEventsRequest(cmd.flags);
  return runObserverStream(cmd.flags, io, (client) => client.getAgentEvents(req), new AgentEventPrinter(cmd.printer));
}
