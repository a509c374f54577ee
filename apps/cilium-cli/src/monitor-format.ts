// One readable line (or one JSON object) per monitor event: the 48-byte datapath header
// of docs/CONTRACTS.md and the addresses and ports of the captured packet, decoded with
// @cilium-ts/flow; debug records (type 2, no packet) as Cilium's `DEBUG:` lines, with
// @cilium-ts/bpf's message texts.
import { agent } from '@cilium-ts/api';
import { DEBUG_TYPE_NAMES, debugMessage, decodeEventRecord, EventType, reasonText } from '@cilium-ts/bpf/events';
import { DatapathRecordError, decodeDatapathRecord, decodePacket, summarize, type DatapathRecord, type DecodedPacket } from '@cilium-ts/flow';

/** Datapath event type numbers by `--type` name. */
export const MONITOR_TYPES: Readonly<Record<string, number>> = { drop: 1, debug: 2, trace: 4, 'policy-verdict': 5 };

const TYPE_NAMES: Readonly<Record<number, string>> = { 1: 'drop', 2: 'debug', 4: 'trace', 5: 'policy-verdict' };

/** Trace observation points (sub_type of trace events). */
const TRACE_POINTS: readonly string[] = [
  'to-endpoint', 'to-proxy', 'to-host', 'to-stack', 'to-overlay', 'from-endpoint',
  'from-proxy', 'from-host', 'from-stack', 'from-overlay', 'from-network', 'to-network',
];

const MATCH_TYPES: readonly string[] = ['none', 'L3-Only', 'L3-L4', 'L4-Only', 'all'];

const PROTOCOLS: Readonly<Record<number, string>> = { 1: 'ICMP', 6: 'TCP', 17: 'UDP', 58: 'ICMPv6', 132: 'SCTP' };

/** The text of a drop reason code, as Cilium names it (the datapath's own table; unknown codes as `reason N`). */
export function dropReasonText(code: number): string {
  const text = reasonText(code);
  return text === String(code) ? `reason ${code}` : text;
}

function endpoints(p: DecodedPacket): string {
  if (!p.ip) return 'non-IP packet';
  const l4 = p.l4;
  const ported = l4 && 'sourcePort' in l4;
  const fmt = (ip: string, port: number | undefined): string =>
    port === undefined ? ip : p.ip!.version === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;
  return `${fmt(p.ip.source, ported ? l4.sourcePort : undefined)} -> ${fmt(p.ip.destination, ported ? l4.destinationPort : undefined)}`;
}

function describe(rec: DatapathRecord): string {
  const dir = rec.egress ? 'egress' : 'ingress';
  switch (rec.type) {
    case 1:
      return `xx drop (${dropReasonText(rec.subType)}) ${dir} endpoint ${rec.source}`;
    case 4:
      return `-> ${TRACE_POINTS[rec.subType] ?? `point ${rec.subType}`} endpoint ${rec.source}${rec.isReply ? ' reply' : ''}`;
    case 5: {
      const port = rec.matchedPort ? ` port ${rec.matchedPort}/${PROTOCOLS[rec.matchedProto] ?? rec.matchedProto}` : '';
      return `policy-verdict ${dir} ${rec.allowed ? 'ALLOWED' : 'DENIED'} endpoint ${rec.source} match ${MATCH_TYPES[rec.policyMatchType] ?? rec.policyMatchType}${port}`;
    }
    default:
      return `type ${rec.type}/${rec.subType} endpoint ${rec.source}`;
  }
}

function timeText(ev: agent.MonitorEvent): string {
  return (agent.MonitorEvent.toJSON(ev) as { time?: string }).time ?? '-';
}

/** One line describing `ev`, e.g. `... xx drop (Policy denied) ingress endpoint 12 identity 256->257: 10.0.0.2:40000 -> 10.0.0.3:80 TCP Flags: SYN`. */
export function formatMonitorEvent(ev: agent.MonitorEvent): string {
  const head = `${timeText(ev)}${ev.nodeName ? ` [${ev.nodeName}]` : ''}`;
  if (ev.lost !== undefined) return `${head} lost ${ev.lost} events`;
  if (ev.agent !== undefined) return `${head} agent event ${ev.agent.type}: ${ev.agent.json}`;
  if (ev.datapath === undefined) return `${head} empty event`;
  if (ev.datapath[0] === EventType.debug && ev.datapath.length >= 48) {
    // As Cilium prints it: "FROM <endpoint> DEBUG: <message>".
    return `${head} FROM ${ev.datapath.readUInt16LE(2)} DEBUG: ${debugMessage(decodeEventRecord(Buffer.from(ev.datapath)))}`;
  }
  let rec: DatapathRecord;
  try {
    rec = decodeDatapathRecord(ev.datapath);
  } catch (err) {
    if (err instanceof DatapathRecordError) return `${head} undecodable datapath record (${err.message})`;
    throw err;
  }
  const pkt = decodePacket(rec.packet);
  const summary = summarize(pkt);
  return `${head} ${describe(rec)} identity ${rec.srcIdentity}->${rec.dstIdentity}: ${endpoints(pkt)}${summary ? ` ${summary}` : ''}`;
}

/** The JSON form of `ev` for `-o json`: the decoded header and packet fields. */
export function monitorEventJson(ev: agent.MonitorEvent): Record<string, unknown> {
  const base: Record<string, unknown> = { time: timeText(ev), node: ev.nodeName };
  if (ev.lost !== undefined) return { ...base, type: 'lost', lost: ev.lost.toString() };
  if (ev.agent !== undefined) {
    let details: unknown = ev.agent.json;
    try {
      details = JSON.parse(ev.agent.json);
    } catch {
      // keep the raw text
    }
    return { ...base, type: 'agent', agentEventType: ev.agent.type, details };
  }
  if (ev.datapath === undefined) return { ...base, type: 'empty' };
  if (ev.datapath[0] === EventType.debug && ev.datapath.length >= 48) {
    const d = decodeEventRecord(Buffer.from(ev.datapath));
    return {
      ...base,
      type: 'debug',
      subType: d.subType,
      debugType: DEBUG_TYPE_NAMES[d.subType] ?? String(d.subType),
      message: debugMessage(d),
      endpoint: d.source,
      args: d.args,
      ifindex: d.ifindex,
    };
  }
  const rec = decodeDatapathRecord(ev.datapath);
  const pkt = decodePacket(rec.packet);
  const l4 = pkt.l4;
  return {
    ...base,
    type: TYPE_NAMES[rec.type] ?? String(rec.type),
    subType: rec.subType,
    ...(rec.type === 1 ? { dropReason: dropReasonText(rec.subType) } : {}),
    ...(rec.type === 4 ? { tracePoint: TRACE_POINTS[rec.subType] ?? String(rec.subType) } : {}),
    ...(rec.type === 5 ? { verdict: rec.allowed ? 'ALLOWED' : 'DENIED', matchType: MATCH_TYPES[rec.policyMatchType], matchedPort: rec.matchedPort, matchedProto: rec.matchedProto } : {}),
    endpoint: rec.source,
    direction: rec.egress ? 'egress' : 'ingress',
    isReply: rec.isReply,
    srcIdentity: rec.srcIdentity,
    dstIdentity: rec.dstIdentity,
    ifindex: rec.ifindex,
    origLen: rec.origLen,
    src: pkt.ip?.source,
    dst: pkt.ip?.destination,
    ...(l4 && 'sourcePort' in l4 ? { srcPort: l4.sourcePort, dstPort: l4.destinationPort } : {}),
    protocol: l4?.kind,
    summary: summarize(pkt),
  };
}
