import { flow } from '@cilium-ts/api';
import { dropReasonText, MATCH_TYPE_NAMES, tracePointName } from '@cilium-ts/bpf/events';
import type { Colorer } from './colorer.js';

/** flowTypeText is the TYPE column: L7 kind, trace point, drop reason, policy match or capture point. */
export function flowTypeText(f: flow.Flow): string {
  if (f.l7 !== undefined) {
    const proto = f.l7.http ? 'http' : f.l7.dns ? 'dns' : f.l7.kafka ? 'kafka' : 'l7';
    const t = flow.l7FlowTypeToJSON(f.l7.type);
    return `${proto}-${(t === 'UNRECOGNIZED' ? String(f.l7.type) : t).toLowerCase()}`;
  }
  const et = f.eventType;
  switch (et?.type) {
    case 4: {
      const sub = ((et.subType % 256) + 256) % 256;
      return tracePointName(sub);
    }
    case 1:
      return dropReasonText(et.subType);
    case 5:
      switch (f.verdict) {
        case flow.Verdict.FORWARDED:
        case flow.Verdict.AUDIT:
        case flow.Verdict.REDIRECTED:
          return MATCH_TYPE_NAMES[f.policyMatchType] ?? 'unknown';
        case flow.Verdict.DROPPED:
          return dropReasonText(f.dropReason);
        default:
          return 'UNKNOWN';
      }
    case 3: {
      const name = flow.debugCapturePointToJSON(f.debugCapturePoint);
      return name === 'UNRECOGNIZED' ? String(f.debugCapturePoint) : name;
    }
    default:
      return 'UNKNOWN';
  }
}

/** verdictText is the Verdict enum name. */
export function verdictText(f: flow.Flow): string {
  const name = flow.verdictToJSON(f.verdict);
  return name === 'UNRECOGNIZED' ? String(f.verdict) : name;
}

function ports(f: flow.Flow): [string, string] {
  const l4 = f.l4;
  if (l4?.TCP) return [String(l4.TCP.sourcePort), String(l4.TCP.destinationPort)];
  if (l4?.UDP) return [String(l4.UDP.sourcePort), String(l4.UDP.destinationPort)];
  if (l4?.SCTP) return [String(l4.SCTP.sourcePort), String(l4.SCTP.destinationPort)];
  return ['', ''];
}

/** hostname renders one side: pod, service, DNS names or IP, with `:port` (IPv6 bracketed) when the port is non-zero. */
export function hostname(
  c: Colorer, ip: string, port: string, ns: string, pod: string, svc: string, names: string[], translate: boolean,
): string {
  let host = ip;
  if (translate) {
    if (pod !== '') host = ns === '' ? pod : `${ns}/${pod}`;
    else if (svc !== '') host = ns === '' ? svc : `${ns}/${svc}`;
    else if (names.length > 0) host = names.join(',');
  }
  if (port !== '' && port !== '0') {
    const h = host.includes(':') ? `[${c.host(host)}]` : c.host(host);
    return `${h}:${c.port(port)}`;
  }
  return c.host(host);
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
    hostname(c, f.IP.source, sp, srcNs, srcPod, srcSvc, f.sourceNames, translate),
    hostname(c, f.IP.destination, dp, dstNs, dstPod, dstSvc, f.destinationNames, translate),
  ];
}
