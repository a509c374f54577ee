// One readable line (or one JSON object) per monitor event: the 48-byte datapath header
// of docs/CONTRACTS.md, decoded and named by @cilium-ts/bpf/events, and the addresses and
// ports of the captured packet, decoded with @cilium-ts/flow; debug records (type 2, no
// packet) as Cilium's `DEBUG:` lines, with @cilium-ts/bpf's message texts.
import { agent } from '@cilium-ts/api';
import {
  DEBUG_TYPE_NAMES, debugMessage, decodeEventRecord, dropReasonText, EventRecordError, EventType, matchTypeName, MESSAGE_TYPE_NAMES,
  PROTOCOL_NAMES, tracePointName, type EventRecord, decodeTraceSockRecord, TRACE_SOCK_RECORD_LEN, TRACE_SOCK_TYPE,
} from '@cilium-ts/bpf/events';
import { decodePacket, summarize, type DecodedPacket } from '@cilium-ts/flow';

/** Datapath event type numbers by `--type` name. */
export const MONITOR_TYPES: Readonly<Record<string, number>> = Object.fromEntries(
  Object.values(EventType).map((t) => [MESSAGE_TYPE_NAMES[t]!, t]),
);

function endpoints(p: DecodedPacket): string {
  if (!p.ip) return 'non-IP packet';
  const l4 = p.l4;
  const ported = l4 && 'sourcePort' in l4;
  const fmt = (ip: string, port: number | undefined): string =>
    port === undefined ? ip : p.ip!.version === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;
  return `${fmt(p.ip.source, ported ? l4.sourcePort : undefined)} -> ${fmt(p.ip.destination, ported ? l4.destinationPort : undefined)}`;
}

function describe(rec: EventRecord): string {
  const dir = rec.egress ? 'egress' : 'ingress';
  switch (rec.type) {
    case EventType.drop:
      return `xx drop (${dropReasonText(rec.subType)}) ${dir} endpoint ${rec.source}`;
    case EventType.trace:
      return `-> ${tracePointName(rec.subType)} endpoint ${rec.source}${rec.isReply ? ' reply' : ''}`;
    case EventType.policyVerdict: {
      const port = rec.matchedPort ? ` port ${rec.matchedPort}/${PROTOCOL_NAMES[rec.matchedProtocol] ?? rec.matchedProtocol}` : '';
      return `policy-verdict ${dir} ${rec.allowed ? 'ALLOWED' : 'DENIED'} endpoint ${rec.source} match ${matchTypeName(rec.matchType)}${port}`;
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
  let rec: EventRecord;
  try {
    rec = decodeEventRecord(ev.datapath);
  } catch (err) {
    if (err instanceof EventRecordError) return `${head} undecodable datapath record (${err.message})`;
    throw err;
  }
  // As Cilium prints a TraceSockNotify: "[pre-xlate-fwd] cgroup_id: N sock_cookie: N, dst [IP]:PORT tcp".
  if (rec.type === TRACE_SOCK_TYPE && ev.datapath.length >= TRACE_SOCK_RECORD_LEN) {
    const t = decodeTraceSockRecord(ev.datapath);
    const point = ['unknown', 'pre-xlate-fwd', 'post-xlate-fwd', 'pre-xlate-rev', 'post-xlate-rev'][t.xlatePoint] ?? String(t.xlatePoint);
    return `${head} [${point}] endpoint ${t.endpointId} cgroup_id: ${t.cgroupId} sock_cookie: ${t.socketCookie}, dst [${t.address}]:${t.port} ${(PROTOCOL_NAMES[t.protocol] ?? String(t.protocol)).toLowerCase()}`;
  }
  // As Cilium prints it: "FROM <endpoint> DEBUG: <message>".
  if (rec.type === EventType.debug) return `${head} FROM ${rec.source} DEBUG: ${debugMessage(rec)}`;
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
  const rec = decodeEventRecord(ev.datapath);
  if (rec.type === EventType.debug) {
    return {
      ...base,
      type: 'debug',
      subType: rec.subType,
      debugType: DEBUG_TYPE_NAMES[rec.subType] ?? String(rec.subType),
      message: debugMessage(rec),
      endpoint: rec.source,
      args: rec.args,
      ifindex: rec.ifindex,
    };
  }
  const pkt = decodePacket(rec.packet);
  const l4 = pkt.l4;
  return {
    ...base,
    type: MESSAGE_TYPE_NAMES[rec.type] ?? String(rec.type),
    subType: rec.subType,
    ...(rec.type === EventType.drop ? { dropReason: dropReasonText(rec.subType) } : {}),
    ...(rec.type === EventType.trace ? { tracePoint: tracePointName(rec.subType) } : {}),
    ...(rec.type === EventType.policyVerdict
      ? { verdict: rec.allowed ? 'ALLOWED' : 'DENIED', matchType: matchTypeName(rec.matchType), matchedPort: rec.matchedPort, matchedProto: rec.matchedProtocol }
      : {}),
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
