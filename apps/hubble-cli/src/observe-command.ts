import { flow } from '@cilium-ts/api';
import { FlagValues, UsageError, formatHelp, parseArgs, type FlagSpec } from './args.js';
import { Colorer, type ColorMode } from './colorer.js';
import { GLOBAL_FLAGS, type Io } from './global-flags.js';
import { runObserverStream } from './observer-stream.js';
import { buildGetFlowsRequest } from './observe-request.js';
import { resolveOutputFormat } from './output-format.js';
import { Printer } from './printer.js';
import { goJson, toProtoJson } from './proto-json.js';
import { runObserveAgentEvents } from './agent-events-command.js';
import { runObserveDebugEvents } from './debug-events-command.js';
import { TIME_FORMATS, timeFormatFlag } from './timestamp-format.js';

const s = (name: string, help: string, short?: string): FlagSpec => ({ name, kind: 'string', help, short });
const b = (name: string, help: string, short?: string): FlagSpec => ({ name, kind: 'bool', help, short });

/** OBSERVE_FLAGS are the flags of `hubble observe`. */
export const OBSERVE_FLAGS: FlagSpec[] = [
  b('not', 'Reverse the next filter (send it to the denylist)'),
  s('from-ip', 'Show flows from this IP or CIDR'), s('to-ip', 'Show flows to this IP or CIDR'), s('ip', 'Show flows from or to this IP or CIDR'),
  s('from-pod', 'Show flows from this pod ([namespace/]pod-name-prefix)'), s('to-pod', 'Show flows to this pod'), s('pod', 'Show flows from or to this pod'),
  s('from-namespace', 'Show flows from this namespace'), s('to-namespace', 'Show flows to this namespace'), s('namespace', 'Show flows from or to this namespace', 'n'),
  s('from-fqdn', 'Show flows from this FQDN pattern (* wildcard)'), s('to-fqdn', 'Show flows to this FQDN pattern'), s('fqdn', 'Show flows from or to this FQDN pattern'),
  s('from-label', 'Show flows from endpoints matching this label selector'), s('to-label', 'Show flows to endpoints matching this label selector'),
  s('label', 'Show flows from or to endpoints matching this label selector', 'l'),
  s('from-service', 'Show flows from this service ([namespace/]name-prefix)'), s('to-service', 'Show flows to this service'), s('service', 'Show flows from or to this service'),
  s('from-port', 'Show flows with this source port'), s('to-port', 'Show flows with this destination port'), s('port', 'Show flows with this source or destination port'),
  s('from-identity', 'Show flows from this security identity'), s('to-identity', 'Show flows to this security identity'), s('identity', 'Show flows from or to this security identity'),
  s('verdict', 'Show flows with this verdict (FORWARDED, DROPPED, ERROR, AUDIT, REDIRECTED, TRACED, TRANSLATED)'),
  s('type', 'Filter by event type: drop, debug, capture, trace[:to-endpoint|...], policy-verdict, recorder, l7, agent, or a number', 't'),
  s('http-status', 'Show flows with this HTTP status code (404, 5+)'), s('http-method', 'Show flows with this HTTP method'), s('http-path', 'Show flows whose HTTP path matches this regex'),
  s('protocol', 'Show flows of this L4/L7 protocol (tcp, udp, sctp, icmp, icmpv4, icmpv6, dns, http, kafka)'), s('tcp-flags', 'Show TCP flows with these flags set (comma separated: syn,ack,...)'),
  s('node-name', 'Show flows observed on this node ([cluster/]name pattern)'),
  s('from-workload', 'Show flows from this workload ([kind/]name)'), s('to-workload', 'Show flows to this workload ([kind/]name)'),
  s('workload', 'Show flows from or to this workload ([kind/]name)'),
  s('traffic-direction', 'Show flows with this traffic direction (ingress, egress)'),
  s('uuid', 'Show the flow with this UUID'), s('trace-id', 'Show flows with this W3C trace id'),
  b('ipv4', 'Show only IPv4 flows', '4'), b('ipv6', 'Show only IPv6 flows', '6'), s('ip-version', 'Show only flows of this IP version (none, v4, v6)'),
  s('allowlist', 'Add a FlowFilter (JSON) to the allowlist'), s('denylist', 'Add a FlowFilter (JSON) to the denylist'),
  { ...s('last', 'Get the last N flows (default 20 without another selector)') },
  b('all', 'Get all flows stored in the server\'s buffer'), s('first', 'Get the first N flows'),
  b('follow', 'Follow flows output', 'f'), s('since', 'Flows since this time (duration such as 5m, or RFC3339)'), s('until', 'Flows until this time (duration such as 5m, or RFC3339)'),
  { ...s('output', 'Output format: compact, dict, json, jsonpb, table', 'o'), default: 'compact' },
  { ...s('time-format', `Time format for compact, dict and table output: ${TIME_FORMATS.join(', ')}`), default: 'StampMilli' },
  b('print-node-name', 'Print the node name in compact, dict and table output'),
  { ...s('color', 'Colour: auto, always, never'), default: 'auto' },
  b('numeric', 'Show IP addresses instead of names'), { ...b('ip-translation', 'Translate IP addresses to pod, service or DNS names'), default: 'true' },
  b('print-raw-filters', 'Print the allowlist and denylist that would be sent, and exit'),
];

const HELP = formatHelp(
  'hubble observe [agent-events | debug-events] [flags]',
  'Observe flows (or, with agent-events, agent events; with debug-events, datapath debug events) of a Hubble server or relay.',
  [...OBSERVE_FLAGS, ...GLOBAL_FLAGS],
);

/** runObserve implements `hubble observe`; resolves to the exit status. */
export async function runObserve(argv: string[], io: Io): Promise<number> {
  if (argv[0] === 'agent-events') return runObserveAgentEvents(argv.slice(1), io);
  if (argv[0] === 'debug-events') return runObserveDebugEvents(argv.slice(1), io);
  const specs = [...OBSERVE_FLAGS, ...GLOBAL_FLAGS];
  const parsed = parseArgs(argv, specs);
  const flags = new FlagValues(parsed, specs, io.env);
  if (flags.bool('help')) {
    io.out(HELP);
    return 0;
  }
  if (parsed.positionals.length > 0) {
    throw new UsageError(`unexpected argument "${parsed.positionals[0]}" for hubble observe`);
  }
  const output = resolveOutputFormat(flags.string('output'), io.env);
  const color = flags.string('color') as ColorMode;
  if (!['auto', 'always', 'never'].includes(color)) throw new UsageError(`invalid --color "${color}": use auto, always or never`);
  const timeFormat = timeFormatFlag(flags.string('time-format'));
  const req = buildGetFlowsRequest(parsed, flags);
  if (output === 'table' && req.follow) throw new UsageError('output format table is not compatible with follow mode');

  if (flags.bool('print-raw-filters')) {
    io.out(rawFiltersYaml(req.whitelist, req.blacklist));
    return 0;
  }

  const printer = new Printer({
    output,
    printNodeName: flags.bool('print-node-name'),
    ipTranslation: flags.bool('ip-translation') && !flags.bool('numeric'),
    debug: flags.bool('debug'),
    colorer: Colorer.fromMode(color, io.stdoutIsTTY),
    timeFormat,
    out: io.out,
    err: io.err,
  });
  return runObserverStream(flags, io, (client) => client.getFlows(req), printer);
}

/** YAML single-quoted scalar: the text in single quotes, inner single quotes doubled. */
function yamlQuoted(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/**
 * rawFiltersYaml is what --print-raw-filters prints, as upstream's YAML of
 * `{allowlist, denylist}` with empty lists omitted (`{}` when both are): each filter as a
 * one-line JSON string in single quotes, list items indented by four spaces.
 */
export function rawFiltersYaml(allow: flow.FlowFilter[], deny: flow.FlowFilter[]): string {
  const list = (name: string, filters: flow.FlowFilter[]): string =>
    filters.length === 0 ? '' : `${name}:\n${filters.map((f) => `    - ${yamlQuoted(goJson(toProtoJson('flow.FlowFilter', flow.FlowFilter, f)))}\n`).join('')}`;
  const out = list('allowlist', allow) + list('denylist', deny);
  return out === '' ? '{}\n' : out;
}
