import { Metadata } from '@grpc/grpc-js';
import { health, observer } from '@cilium-ts/api';
import { FlagValues, UsageError, formatHelp, parseArgs, type FlagSpec } from './args.js';
import { dial, resolveTarget } from './connect.js';
import { GLOBAL_FLAGS, connectOptions, type Io } from './global-flags.js';
import { statusText } from '@cilium-ts/grpc';
import { goJson, toProtoJson } from './proto-json.js';
import { formatTable, formatThousands } from './tab-writer.js';
import { formatGoDuration } from '@cilium-ts/process';

/** STATUS_DEADLINE_MS is the deadline of the health check and of ServerStatus (as upstream). */
const STATUS_DEADLINE_MS = 12_000;

const FLAGS: FlagSpec[] = [{ name: 'output', short: 'o', kind: 'string', default: 'compact', help: 'Output format: compact, dict, json, table' }];
const OUTPUTS = ['compact', 'dict', 'json', 'jsonpb', 'table'];
const HELP = formatHelp('hubble status [flags]', 'Display the status of a Hubble server or relay.', [...FLAGS, ...GLOBAL_FLAGS]);

/** formatServerStatus renders ServerStatusResponse in `hubble status` compact form (without the health line). */
export function formatServerStatus(ss: observer.ServerStatusResponse): string {
  let out = '';
  if (ss.maxFlows > 0n) {
    const ratio = (Number(ss.numFlows) / Number(ss.maxFlows)) * 100;
    out += `Current/Max Flows: ${formatThousands(ss.numFlows)}/${formatThousands(ss.maxFlows)} (${ratio.toFixed(2)}%)\n`;
  } else {
    out += `Current/Max Flows: ${formatThousands(ss.numFlows)}/${formatThousands(ss.maxFlows)}\n`;
  }
  const uptimeS = Number(ss.uptimeNs) / 1e9;
  out += `Flows/s: ${uptimeS > 0 ? (Number(ss.seenFlows) / uptimeS).toFixed(2) : 'N/A'}\n`;
  if (ss.numConnectedNodes !== undefined) {
    const total = ss.numUnavailableNodes !== undefined ? `/${ss.numConnectedNodes + ss.numUnavailableNodes}` : '';
    out += `Connected Nodes: ${ss.numConnectedNodes}${total}\n`;
  }
  if (ss.numUnavailableNodes !== undefined && ss.numUnavailableNodes > 0) {
    out += `Unavailable Nodes: ${ss.numUnavailableNodes}\n`;
    const names = [...ss.unavailableNodes].sort();
    for (const n of names) out += `  - ${n}\n`;
    if (ss.numUnavailableNodes > names.length) out += `  - and ${ss.numUnavailableNodes - names.length} more...\n`;
  }
  return out;
}

function statusColumns(ss: observer.ServerStatusResponse): [string, string][] {
  const opt = (v: number | undefined): string => (v === undefined ? 'N/A' : String(v));
  return [
    ['NUM FLOWS', formatThousands(ss.numFlows)],
    ['MAX FLOWS', formatThousands(ss.maxFlows)],
    ['SEEN FLOWS', formatThousands(ss.seenFlows)],
    ['UPTIME', formatGoDuration(ss.uptimeNs)],
    ['NUM CONNECTED NODES', opt(ss.numConnectedNodes)],
    ['NUM UNAVAILABLE NODES', opt(ss.numUnavailableNodes)],
    ['VERSION', ss.version],
  ];
}

/** formatServerStatusTable renders ServerStatusResponse as `hubble status -o table` (header line, value line). */
export function formatServerStatusTable(ss: observer.ServerStatusResponse): string {
  const cols = statusColumns(ss);
  return formatTable([cols.map(([h]) => h), cols.map(([, v]) => v)]);
}

/** formatServerStatusDict renders ServerStatusResponse as `hubble status -o dict` (right-aligned keys). */
export function formatServerStatusDict(ss: observer.ServerStatusResponse): string {
  const cols = statusColumns(ss).map(([k, v]) => [k === 'NUM UNAVAILABLE NODES' ? 'NUM UNAVAIL. NODES' : k, v] as const);
  return cols.map(([k, v]) => `${k.padStart(19)}: ${v}\n`).join('');
}

function call<T>(fn: (cb: (err: (Error & { code?: number; details?: string }) | null, res: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, res) => (err ? reject(err) : resolve(res))));
}

/** runStatus implements `hubble status`: health check for hubble.server.Observer, then ServerStatus. */
export async function runStatus(argv: string[], io: Io): Promise<number> {
  const specs = [...FLAGS, ...GLOBAL_FLAGS];
  const parsed = parseArgs(argv, specs);
  const flags = new FlagValues(parsed, specs, io.env);
  if (flags.bool('help')) {
    io.out(HELP);
    return 0;
  }
  const output = flags.string('output');
  if (!OUTPUTS.includes(output)) throw new UsageError(`invalid output format "${output}": use compact, dict, json or table`);
  const conn = connectOptions(flags);
  const target = resolveTarget(conn);
  const hc = new health.HealthClient(target.address, target.credentials, target.options);
  const oc = new observer.ObserverClient(target.address, target.credentials, target.options);
  try {
    await dial(hc, target, conn.timeoutMs);
    let hres: health.HealthCheckResponse;
    try {
      hres = await call<health.HealthCheckResponse>((cb) =>
        hc.check(health.HealthCheckRequest.fromPartial({ service: 'hubble.server.Observer' }), new Metadata(), { deadline: Date.now() + STATUS_DEADLINE_MS }, cb),
      );
    } catch (err) {
      const e = err as Error & { code?: number; details?: string };
      io.err(`failed getting status: ${e.code !== undefined ? statusText(e.code, e.details ?? e.message) : e.message}\n`);
      return 1;
    }
    if (hres.status !== health.HealthCheckResponse_ServingStatus.SERVING) {
      if (output === 'compact') io.out(`Healthcheck (via ${target.display}): Unavailable: ${health.healthCheckResponse_ServingStatusToJSON(hres.status)}\n`);
      io.err('not healthy\n');
      return 1;
    }
    if (output === 'compact') io.out(`Healthcheck (via ${target.display}): Ok\n`);
    await dial(oc, target, conn.timeoutMs);
    let ss: observer.ServerStatusResponse;
    try {
      ss = await call<observer.ServerStatusResponse>((cb) =>
        oc.serverStatus(observer.ServerStatusRequest.fromPartial({}), new Metadata(), { deadline: Date.now() + STATUS_DEADLINE_MS }, cb),
      );
    } catch (err) {
      const e = err as Error & { code?: number; details?: string };
      io.err(`${e.code !== undefined ? statusText(e.code, e.details ?? e.message) : e.message}\n`);
      return 1;
    }
    if (output === 'compact') io.out(formatServerStatus(ss));
    else if (output === 'table') io.out(formatServerStatusTable(ss));
    else if (output === 'dict') io.out(formatServerStatusDict(ss));
    else io.out(`${goJson(toProtoJson('observer.ServerStatusResponse', observer.ServerStatusResponse, ss))}\n`);
    return 0;
  } finally {
    hc.close();
    oc.close();
  }
}
