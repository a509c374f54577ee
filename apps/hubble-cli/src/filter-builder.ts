import { flow } from '@cilium-ts/api';
import { EventType, MESSAGE_TYPE_NAMES, TRACE_POINT_NAMES } from '@cilium-ts/bpf/events';
import { UsageError } from './args.js';

/** FILTER_FLAGS are the observe flags that build FlowFilters (their order matters for --not). */
export const FILTER_FLAGS = [
  'not', 'from-ip', 'to-ip', 'ip', 'from-pod', 'to-pod', 'pod', 'from-namespace', 'to-namespace', 'namespace',
  'from-fqdn', 'to-fqdn', 'fqdn', 'from-label', 'to-label', 'label', 'from-service', 'to-service', 'service',
  'from-port', 'to-port', 'port', 'from-identity', 'to-identity', 'identity', 'verdict', 'type', 'http-status',
  'http-method', 'http-path', 'protocol', 'tcp-flags', 'node-name', 'ipv4', 'ipv6', 'ip-version',
  'from-workload', 'to-workload', 'workload', 'traffic-direction', 'uuid', 'trace-id',
] as const;

/** Groups of flags that cannot be combined in one filter (hubble v0.9.0). */
const CONFLICTS: string[][] = [
  ['from-fqdn', 'from-ip', 'ip', 'fqdn', 'from-namespace', 'namespace', 'from-pod', 'pod'],
  ['to-fqdn', 'to-ip', 'ip', 'fqdn', 'to-namespace', 'namespace', 'to-pod', 'pod'],
  ['label', 'from-label'],
  ['label', 'to-label'],
  ['service', 'from-service'],
  ['service', 'to-service'],
  ['port', 'from-port'],
  ['port', 'to-port'],
  ['identity', 'from-identity'],
  ['identity', 'to-identity'],
  ['workload', 'from-workload'],
  ['workload', 'to-workload'],
];

/** MESSAGE_TYPES maps --type names to monitor message types. */
const MESSAGE_TYPES: Readonly<Record<string, number>> = Object.fromEntries(
  Object.entries(MESSAGE_TYPE_NAMES).map(([type, name]) => [name, Number(type)]),
);

/** AGENT_NOTIFICATIONS maps agent sub-type names to numbers. */
const AGENT_NOTIFICATIONS = [
  'unspecified', 'message', 'agent-started', 'policy-updated', 'policy-deleted', 'endpoint-regenerate-success',
  'endpoint-regenerate-failure', 'endpoint-created', 'endpoint-deleted', 'ipcache-upserted', 'ipcache-deleted',
  'service-upserted', 'service-deleted',
];

const TCP_FLAG_NAMES = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR', 'NS'] as const;

/** FilterTracker holds the "left" and "right" candidate filters of one list (allow or deny). */
class FilterTracker {
  left: flow.FlowFilter | undefined;
  right: flow.FlowFilter | undefined;
  readonly changed: string[] = [];

  track(name: string): void {
    if (!this.changed.includes(name)) this.changed.push(name);
    for (const group of CONFLICTS) {
      const hit = group.filter((g) => this.changed.includes(g));
      if (hit.length > 1) throw new UsageError(`filters --${hit[0]} and --${hit[1]} cannot be combined`);
    }
  }

  applyLeft(update: (f: flow.FlowFilter) => void): void {
    this.left ??= flow.FlowFilter.fromPartial({});
    update(this.left);
  }

  applyRight(update: (f: flow.FlowFilter) => void): void {
    this.right ??= flow.FlowFilter.fromPartial({});
    update(this.right);
  }

  apply(update: (f: flow.FlowFilter) => void): void {
    this.applyLeft(update);
    this.applyRight(update);
  }

  filters(): flow.FlowFilter[] {
    if (this.left === undefined && this.right === undefined) return [];
    const l = this.left ?? flow.FlowFilter.fromPartial({});
    const r = this.right ?? flow.FlowFilter.fromPartial({});
    const enc = (f: flow.FlowFilter): string => Buffer.from(flow.FlowFilter.encode(f).finish()).toString('hex');
    if (enc(l) === enc(r)) return [l];
    return [this.left, this.right].filter((f): f is flow.FlowFilter => f !== undefined);
  }
}

type Key = keyof flow.FlowFilter;

function parseUint32(flag: string, v: string): number {
  if (!/^\d+$/.test(v) || Number(v) > 0xffffffff) throw new UsageError(`invalid --${flag} value "${v}": expected a numeric identity`);
  return Number(v);
}

function parseType(v: string): flow.EventTypeFilter {
  const colon = v.indexOf(':');
  const typ = colon >= 0 ? v.slice(0, colon) : v;
  const sub = colon >= 0 ? v.slice(colon + 1) : '';
  let t = MESSAGE_TYPES[typ];
  if (t === undefined) {
    if (!/^\d+$/.test(typ)) {
      throw new UsageError(`unable to parse type '${v}', not a known type name (${Object.keys(MESSAGE_TYPES).join(', ')}) and not a number`);
    }
    t = Number(typ);
  }
  let s = 0;
  if (sub !== '') {
    const names = t === EventType.trace ? TRACE_POINT_NAMES : t === 130 ? AGENT_NOTIFICATIONS : [];
    const idx = names.indexOf(sub);
    if (idx >= 0) s = idx;
    else if (/^\d+$/.test(sub)) s = Number(sub);
    else throw new UsageError(`unable to parse event sub-type '${sub}' in --type ${v}: not a known name and not a number`);
  }
  return flow.EventTypeFilter.fromPartial({ type: t, matchSubType: sub !== '', subType: s });
}

function parseTcpFlags(v: string): flow.TCPFlags {
  const flags = flow.TCPFlags.fromPartial({});
  for (const raw of v.split(',')) {
    const name = raw.trim().toUpperCase() as (typeof TCP_FLAG_NAMES)[number];
    if (!TCP_FLAG_NAMES.includes(name)) {
      throw new UsageError(`unknown TCP flag "${raw}" in --tcp-flags ${v}: use ${TCP_FLAG_NAMES.map((n) => n.toLowerCase()).join(', ')}`);
    }
    flags[name] = true;
  }
  return flags;
}

/** parseWorkload reads `[kind/]name` (either part may be empty, as in `Deployment/`). */
function parseWorkload(flag: string, v: string): flow.Workload {
  const slash = v.indexOf('/');
  const kind = slash < 0 ? '' : v.slice(0, slash);
  const name = slash < 0 ? v : v.slice(slash + 1);
  if (kind === '' && name === '') throw new UsageError(`invalid --${flag} value "${v}": use [kind/]name, e.g. Deployment/frontend`);
  return flow.Workload.fromPartial({ kind, name });
}

function parseTrafficDirection(v: string): flow.TrafficDirection {
  switch (v.toLowerCase()) {
    case 'ingress': return flow.TrafficDirection.INGRESS;
    case 'egress': return flow.TrafficDirection.EGRESS;
    default: throw new UsageError(`invalid --traffic-direction value "${v}": use ingress or egress`);
  }
}

function parseIpVersion(v: string): flow.IPVersion {
  switch (v.toLowerCase()) {
    case 'none': return flow.IPVersion.IP_NOT_USED;
    case 'v4': case '4': return flow.IPVersion.IPv4;
    case 'v6': case '6': return flow.IPVersion.IPv6;
    default: throw new UsageError(`invalid --ip-version value "${v}": use none, v4 or v6`);
  }
}

/**
 * FlowFilterBuilder turns observe's filter flags, in command-line order, into the whitelist and
 * blacklist that hubble v0.9.0 sends: direction-less endpoint flags put source_* in a "left" and
 * destination_* in a "right" filter, other flags go into both, and `--not` sends the next filter
 * flag to the blacklist.
 */
export class FlowFilterBuilder {
  private readonly white = new FilterTracker();
  private readonly black = new FilterTracker();
  private negateNext = false;

  /** add applies one filter flag. */
  add(name: string, value: string): void {
    if (name === 'not') {
      if (value !== 'true') return;
      if (this.negateNext) throw new UsageError('consecutive --not statements');
      this.negateNext = true;
      return;
    }
    const t = this.negateNext ? this.black : this.white;
    this.negateNext = false;
    t.track(name);
    const push = <K extends Key>(f: flow.FlowFilter, key: K, v: flow.FlowFilter[K] extends (infer U)[] ? U : never): void => {
      (f[key] as unknown[]).push(v);
    };
    const split = (srcKey: Key, dstKey: Key, v: unknown): void => {
      t.applyLeft((f) => push(f, srcKey, v as never));
      t.applyRight((f) => push(f, dstKey, v as never));
    };
    const both = (key: Key, v: unknown): void => t.apply((f) => push(f, key, v as never));
    switch (name) {
      case 'from-ip': return both('sourceIp', value);
      case 'to-ip': return both('destinationIp', value);
      case 'ip': return split('sourceIp', 'destinationIp', value);
      case 'from-pod': return both('sourcePod', value);
      case 'to-pod': return both('destinationPod', value);
      case 'pod': return split('sourcePod', 'destinationPod', value);
      case 'from-namespace': return both('sourcePod', `${value}/`);
      case 'to-namespace': return both('destinationPod', `${value}/`);
      case 'namespace': return split('sourcePod', 'destinationPod', `${value}/`);
      case 'from-fqdn': return both('sourceFqdn', value);
      case 'to-fqdn': return both('destinationFqdn', value);
      case 'fqdn': return split('sourceFqdn', 'destinationFqdn', value);
      case 'from-label': return both('sourceLabel', value);
      case 'to-label': return both('destinationLabel', value);
      case 'label': return split('sourceLabel', 'destinationLabel', value);
      case 'from-service': return both('sourceService', value);
      case 'to-service': return both('destinationService', value);
      case 'service': return split('sourceService', 'destinationService', value);
      case 'from-port': return both('sourcePort', value);
      case 'to-port': return both('destinationPort', value);
      case 'port': return split('sourcePort', 'destinationPort', value);
      case 'from-identity': return both('sourceIdentity', parseUint32(name, value));
      case 'to-identity': return both('destinationIdentity', parseUint32(name, value));
      case 'identity': return split('sourceIdentity', 'destinationIdentity', parseUint32(name, value));
      case 'verdict': {
        const v = (flow.Verdict as unknown as Record<string, number>)[value];
        if (v === undefined || value === 'UNRECOGNIZED') {
          throw new UsageError(`invalid --verdict value: ${value} (use FORWARDED, DROPPED, ERROR, AUDIT, REDIRECTED, TRACED or TRANSLATED)`);
        }
        return both('verdict', v);
      }
      case 'type': return both('eventType', parseType(value));
      case 'http-status': return both('httpStatusCode', value);
      case 'http-method': return both('httpMethod', value);
      case 'http-path': return both('httpPath', value);
      case 'protocol': return both('protocol', value);
      case 'tcp-flags': return both('tcpFlags', parseTcpFlags(value));
      case 'node-name': return both('nodeName', value);
      case 'ipv4': return value === 'true' ? both('ipVersion', flow.IPVersion.IPv4) : undefined;
      case 'ipv6': return value === 'true' ? both('ipVersion', flow.IPVersion.IPv6) : undefined;
      case 'ip-version': return both('ipVersion', parseIpVersion(value));
      case 'from-workload': return both('sourceWorkload', parseWorkload(name, value));
      case 'to-workload': return both('destinationWorkload', parseWorkload(name, value));
      case 'workload': return split('sourceWorkload', 'destinationWorkload', parseWorkload(name, value));
      case 'traffic-direction': return both('trafficDirection', parseTrafficDirection(value));
      case 'uuid': return both('uuid', value);
      case 'trace-id': return both('traceId', value);
      default: throw new UsageError(`--${name} is not a filter flag`);
    }
  }

  /** build returns the lists to send, or throws on a trailing --not. */
  build(): { whitelist: flow.FlowFilter[]; blacklist: flow.FlowFilter[] } {
    if (this.negateNext) throw new UsageError('trailing --not: it must be followed by a filter flag');
    return { whitelist: this.white.filters(), blacklist: this.black.filters() };
  }
}
