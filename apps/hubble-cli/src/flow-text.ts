import { posix } from 'node:path';
import { flow } from '@cilium-ts/api';
import { reservedIdentityName } from '@cilium-ts/flow';
import { dropReasonText, MATCH_TYPE_NAMES, tracePointName } from '@cilium-ts/bpf/events';
import type { Colorer } from './colorer.js';

/** Go's `String()` of a protobuf enum value: its name, or the number when it has none. */
function enumName(name: string, value: number): string {
  return name === 'UNRECOGNIZED' ? String(value) : name;
}

/** Message types of Cilium's monitor (pkg/monitor/api) that a flow's event type carries. */
const MSG_DROP = 1, MSG_CAPTURE = 3, MSG_TRACE = 4, MSG_POLICY_VERDICT = 5, MSG_TRACE_SOCK = 7;

/** Policy match type names as upstream's `PolicyMatchType.String()` (unknown types: "unknown"). */
function policyMatchTypeName(t: number): string {
  return MATCH_TYPE_NAMES[t] ?? 'unknown';
}

const SOCK_XLATE_POINTS: Readonly<Record<number, string>> = { 1: 'pre-xlate-fwd', 2: 'post-xlate-fwd', 3: 'pre-xlate-rev', 4: 'post-xlate-rev' };

/**
 * flowTypeText is the TYPE column, as upstream hubble v0.12.3's `GetFlowType`: `http-request`
 * and the like for L7, the trace point, the drop reason, `policy-verdict:<match> <DIRECTION>`,
 * the capture point or the socket translation point.
 */
export function flowTypeText(f: flow.Flow): string {
  if (f.l7 !== undefined) {
    const proto = f.l7.http ? 'http' : f.l7.dns ? 'dns' : f.l7.kafka ? 'kafka' : 'l7';
    let type = enumName(flow.l7FlowTypeToJSON(f.l7.type), f.l7.type).toLowerCase();
    if (f.l7.dns) type += ` ${f.l7.dns.observationSource}`;
    return `${proto}-${type}`;
  }
  const et = f.eventType;
  const sub = (((et?.subType ?? 0) % 256) + 256) % 256;
  switch (et?.type) {
    case MSG_TRACE:
      return tracePointName(sub);
    case MSG_DROP:
      return dropReasonText(sub);
    case MSG_POLICY_VERDICT:
      return `policy-verdict:${policyMatchTypeName(f.policyMatchType)} ${enumName(flow.trafficDirectionToJSON(f.trafficDirection), f.trafficDirection)}`;
    case MSG_CAPTURE:
      return enumName(flow.debugCapturePointToJSON(f.debugCapturePoint), f.debugCapturePoint);
    case MSG_TRACE_SOCK:
      return SOCK_XLATE_POINTS[f.sockXlatePoint] ?? enumName(flow.socketTranslationPointToJSON(f.sockXlatePoint), f.sockXlatePoint);
    default:
      return 'UNKNOWN';
  }
}

/**
 * verdictText is the VERDICT column: the Verdict enum name, except that a policy-verdict event
 * says ALLOWED (forwarded or redirected), DENIED (dropped or error) or AUDITED, as upstream.
 */
export function verdictText(f: flow.Flow): string {
  const name = enumName(flow.verdictToJSON(f.verdict), f.verdict);
  if (f.eventType?.type !== MSG_POLICY_VERDICT) return name;
  switch (f.verdict) {
    case flow.Verdict.FORWARDED: case flow.Verdict.REDIRECTED: return 'ALLOWED';
    case flow.Verdict.DROPPED: case flow.Verdict.ERROR: return 'DENIED';
    case flow.Verdict.AUDIT: return 'AUDITED';
    default: return name;
  }
}

/**
 * identityText is a security identity as compact output shows it: `(world)` for a reserved
 * one, `(ID:256)` otherwise. Upstream v0.12.3 knows 0 (`unknown`) to 8 (`ingress`) as reserved;
 * 9 and 10 (world-ipv4/-ipv6) came later and print as numbers there.
 */
export function identityText(c: Colorer, id: number): string {
  const reserved = id === 0 ? 'unknown' : id <= 8 ? reservedIdentityName(id) : undefined;
  return c.identity(reserved !== undefined ? `(${reserved})` : `(ID:${id})`);
}

/** summaryText is the SUMMARY of compact and table output: the summary, then `; Auth: TYPE` unless authentication is disabled. */
export function summaryText(c: Colorer, f: flow.Flow): string {
  if (f.authType === flow.AuthType.DISABLED) return f.Summary;
  return `${f.Summary}; Auth: ${c.auth(enumName(flow.authTypeToJSON(f.authType), f.authType))}`;
}

function ports(f: flow.Flow): [string, string] {
  const l4 = f.l4;
  if (l4?.TCP) return [String(l4.TCP.sourcePort), String(l4.TCP.destinationPort)];
  if (l4?.UDP) return [String(l4.UDP.sourcePort), String(l4.UDP.destinationPort)];
  if (l4?.SCTP) return [String(l4.SCTP.sourcePort), String(l4.SCTP.destinationPort)];
  return ['', ''];
}

/**
 * hostname renders one side as upstream's `Printer.Hostname`: the pod (`ns/pod`, joined and
 * cleaned as Go's path.Join), else the service, else the DNS names, else the IP; then
 * `net.JoinHostPort` with the coloured port (IPv6 hosts bracketed) when the port is set.
 * The caller colours the whole result as a host.
 */
export function hostname(
  c: Colorer, ip: string, port: string, ns: string, pod: string, svc: string, names: string[], translate: boolean,
): string {
  let host = ip;
  if (translate) {
    if (pod !== '') host = posix.join(ns, pod);
    else if (svc !== '') host = posix.join(ns, svc);
    else if (names.length > 0) host = names.join(',');
  }
  if (port === '' || port === '0') return host;
  return host.includes(':') ? `[${host}]:${c.port(port)}` : `${host}:${c.port(port)}`;
}

/** hostNames returns the SOURCE and DESTINATION texts of a flow (not swapped for replies). */
export function hostNames(f: flow.Flow, c: Colorer, translate: boolean): [string, string] {
  if (f.IP === undefined) {
    if (f.ethernet !== undefined) return [c.host(f.ethernet.source), c.host(f.ethernet.destination)];
    return ['', ''];
  }
  let srcNs = f.source?.namespace ?? '';
  let dstNs = f.destination?.namespace ?? '';
  const srcPod = f.source?.podName ?? '';
  const dstPod = f.destination?.podName ?? '';
  let srcSvc = '';
  let dstSvc = '';
  if (f.sourceService) {
    srcNs = f.sourceService.namespace;
    srcSvc = f.sourceService.name;
  }
  if (f.destinationService) {
    dstNs = f.destinationService.namespace;
    dstSvc = f.destinationService.name;
  }
  const [sp, dp] = ports(f);
  return [
    c.host(hostname(c, f.IP.source, sp, srcNs, srcPod, srcSvc, f.sourceNames, translate)),
    c.host(hostname(c, f.IP.destination, dp, dstNs, dstPod, dstSvc, f.destinationNames, translate)),
  ];
}
