// `hubble observe debug-events`: GetDebugEvents with upstream's selectors and output formats.
import { flow, observer } from '@cilium-ts/api';
import { UsageError, formatHelp, type FlagSpec, type FlagValues } from './args.js';
import { cpuText, debugEventTypeName, endpointShort, hexUint32 } from './debug-event-text.js';
import { EventPrinterBase, eventWindow, parseEventCommand } from './event-command.js';
import { GLOBAL_FLAGS, type Io } from './global-flags.js';
import { runObserverStream } from './observer-stream.js';
import { ALL_FLOWS, DEFAULT_FLOW_COUNT } from './observe-request.js';
import { goJson, toProtoJson } from './proto-json.js';
import { formatTimestamp, TIME_FORMATS } from './timestamp-format.js';

const s = (name: string, help: string, short?: string): FlagSpec => ({ name, kind: 'string', help, short });
const b = (name: string, help: string, short?: string): FlagSpec => ({ name, kind: 'bool', help, short });

/** DEBUG_EVENTS_FLAGS are the flags of `hubble observe debug-events`. */
export const DEBUG_EVENTS_FLAGS: FlagSpec[] = [
  s('last', 'Get the last N events (default 20)'), s('first', 'Get the first N events stored in the server\'s buffer'),
  b('all', 'Get all events stored in the server\'s buffer'),
  b('follow', 'Follow events output', 'f'), s('since', 'Events since this time (duration such as 5m, or RFC3339)'),
  s('until', 'Events until this time (duration such as 5m, or RFC3339)'),
  { ...s('output', 'Output format: compact, dict, json, jsonpb, table', 'o'), default: 'compact' },
  { ...s('time-format', `Time format: ${TIME_FORMATS.join(', ')}`), default: 'StampMilli' },
  b('print-node-name', 'Print the node name in compact, dict and table output'),
];

const HELP = formatHelp(
  'hubble observe debug-events [flags]',
  'Observe Cilium datapath debug events (endpoints with the Debug option on: cilium endpoint config <id> Debug=true). Served by a node\'s hubble-server; hubble-relay answers UNIMPLEMENTED, as upstream.',
  [...DEBUG_EVENTS_FLAGS, ...GLOBAL_FLAGS],
);

/**
 * buildDebugEventsRequest turns the selector flags into the request: number 20 by default (also
 * with -f), --last N, --all = 2^64−1, --first N (the oldest N; not with --last, --all or -f),
 * since/until as for flows (until not in follow mode).
 */
export function buildDebugEventsRequest(flags: FlagValues, nowNanos?: bigint): observer.GetDebugEventsRequest {
  const follow = flags.bool('follow');
  const all = flags.bool('all');
  const firstN = flags.has('first') ? flags.uint('first') : 0n;
  const first = firstN > 0n;
  if (first && flags.has('last')) throw new UsageError('cannot set both --first and --last');
  if (first && follow) throw new UsageError('cannot set both --first and --follow');
  if (first && all) throw new UsageError('cannot set both --first and --all');
  let number = first ? firstN : flags.has('last') ? flags.uint('last') : DEFAULT_FLOW_COUNT;
  if (all) number = ALL_FLOWS;
  return observer.GetDebugEventsRequest.fromPartial({ number, first, ...eventWindow(flags, nowNanos) });
}

/** DebugEventPrinter renders GetDebugEventsResponses like upstream's WriteProtoDebugEvent. */
export class DebugEventPrinter extends EventPrinterBase {
  /** response renders one response (responses without a debug event are skipped). */
  response(r: observer.GetDebugEventsResponse): void {
    const e = r.debugEvent;
    if (!e) return;
    const o = this.opts;
    const time = formatTimestamp(o.timeFormat, r.time);
    const type = debugEventTypeName(e.type);
    const from = endpointShort(e.source);
    const mark = hexUint32(e.hash);
    const cpu = cpuText(e.cpu);
    switch (o.output) {
      case 'json':
        o.out(`${goJson(toProtoJson('flow.DebugEvent', flow.DebugEvent, e))}\n`);
        break;
      case 'jsonpb':
        o.out(`${goJson(toProtoJson('observer.GetDebugEventsResponse', observer.GetDebugEventsResponse, r))}\n`);
        break;
      case 'dict':
        o.out(
          this.dictSeparator() +
            `  TIMESTAMP: ${time}\n` +
            (o.printNodeName ? `       NODE: ${r.nodeName}\n` : '') +
            `       TYPE: ${type}\n` +
            `       FROM: ${from}\n` +
            `       MARK: ${mark}\n` +
            `        CPU: ${cpu}\n` +
            `    MESSAGE: ${e.message}\n`,
        );
        break;
      case 'table':
        // Upstream's header has an empty column after FROM (two tabs).
        if (this.line === 0) this.rows.push(['TIMESTAMP', ...(o.printNodeName ? ['NODE'] : []), 'FROM', '', 'TYPE', 'CPU/MARK', 'MESSAGE']);
        this.rows.push([time, ...this.nodeCells(r.nodeName), from, '', type, `${cpu} ${mark}`, e.message]);
        break;
      default:
        o.out(`${time}${o.printNodeName ? ` [${r.nodeName}]` : ''}: ${from} ${type} MARK: ${mark} CPU: ${cpu} (${e.message})\n`);
    }
    this.line++;
  }
}

/** runObserveDebugEvents implements `hubble observe debug-events`; resolves to the exit status. */
export async function runObserveDebugEvents(argv: string[], io: Io): Promise<number> {
  const cmd = parseEventCommand(argv, io, DEBUG_EVENTS_FLAGS, 'debug-events', HELP);
  if (!cmd) return 0;
  const req = buildDebugEventsRequest(cmd.flags);
  return runObserverStream(cmd.flags, io, (client) => client.getDebugEvents(req), new DebugEventPrinter(cmd.printer));
}
