// ICMP rules: `icmps: [{fields: [{type, family}]}]`, validated and resolved to type numbers.

import { IssueCollector, checkFields, describeType, isObject, joinPath } from './validation-error.js';

/** One ICMP field: a type (number or name) and an IP family. */
export interface ICMPField {
  family?: 'IPv4' | 'IPv6';
  type: number | string;
}

/** An `icmps` entry. */
export interface ICMPRule {
  fields?: ICMPField[];
}

/** ICMPv4 type names accepted in rules (as in Cilium). */
export const ICMPv4TypeNames: Readonly<Record<string, number>> = {
  EchoReply: 0,
  DestinationUnreachable: 3,
  Redirect: 5,
  Echo: 8,
  EchoRequest: 8,
  RouterAdvertisement: 9,
  RouterSelection: 10,
  TimeExceeded: 11,
  ParameterProblem: 12,
  Timestamp: 13,
  TimestampReply: 14,
  Photuris: 40,
  ExtendedEchoRequest: 42,
  ExtendedEchoReply: 43,
};

/** ICMPv6 type names accepted in rules (as in Cilium). */
export const ICMPv6TypeNames: Readonly<Record<string, number>> = {
  DestinationUnreachable: 1,
  PacketTooBig: 2,
  TimeExceeded: 3,
  ParameterProblem: 4,
  EchoRequest: 128,
  EchoReply: 129,
  MulticastListenerQuery: 130,
  MulticastListenerReport: 131,
  MulticastListenerDone: 132,
  RouterSolicitation: 133,
  RouterAdvertisement: 134,
  NeighborSolicitation: 135,
  NeighborAdvertisement: 136,
  RedirectMessage: 137,
  RouterRenumbering: 138,
  ICMPNodeInformationQuery: 139,
  ICMPNodeInformationResponse: 140,
  InverseNeighborDiscoverySolicitation: 141,
  InverseNeighborDiscoveryAdvertisement: 142,
  HomeAgentAddressDiscoveryRequest: 144,
  HomeAgentAddressDiscoveryReply: 145,
  MobilePrefixSolicitation: 146,
  MobilePrefixAdvertisement: 147,
  DuplicateAddressRequestCodeSuffix: 157,
  DuplicateAddressConfirmationCodeSuffix: 158,
  ExtendedEchoRequest: 160,
  ExtendedEchoReply: 161,
};

/** The numeric ICMP type of a (validated) field. */
export function icmpTypeNumber(f: ICMPField): number {
  if (typeof f.type === 'number') return f.type;
  if (/^\d+$/.test(f.type)) return Number(f.type);
  const table = f.family === 'IPv6' ? ICMPv6TypeNames : ICMPv4TypeNames;
  return table[f.type]!;
}

/** Validates an `icmps` entry at `path`. */
export function validateICMPRule(raw: unknown, path: string, issues: IssueCollector): ICMPRule | undefined {
  if (!isObject(raw)) {
    issues.add(path, `must be an object {fields: [...]}, got ${describeType(raw)}`);
    return undefined;
  }
  checkFields(raw, path, ['fields'], issues);
  const out: ICMPRule = {};
  if (raw.fields !== undefined && raw.fields !== null) {
    const fp = joinPath(path, 'fields');
    if (!Array.isArray(raw.fields)) issues.add(fp, `must be a list, got ${describeType(raw.fields)}`);
    else {
      out.fields = [];
      raw.fields.forEach((f, i) => {
        const v = validateICMPField(f, joinPath(fp, i), issues);
        if (v) out.fields!.push(v);
      });
    }
  }
  return out;
}

function validateICMPField(raw: unknown, path: string, issues: IssueCollector): ICMPField | undefined {
  if (!isObject(raw)) {
    issues.add(path, `must be an object {type, family}, got ${describeType(raw)}`);
    return undefined;
  }
  checkFields(raw, path, ['type', 'family'], issues);
  const before = issues.count;
  let family: 'IPv4' | 'IPv6' = 'IPv4';
  if (raw.family !== undefined && raw.family !== null) {
    if (raw.family === 'IPv4' || raw.family === 'IPv6') family = raw.family;
    else issues.add(joinPath(path, 'family'), `${describeType(raw.family)} is not IPv4 or IPv6`);
  }
  const tp = joinPath(path, 'type');
  const t = raw.type;
  if (t === undefined || t === null) issues.add(tp, 'is required (an ICMP type number 0-255 or name)');
  else if (typeof t === 'number') {
    if (!Number.isInteger(t) || t < 0 || t > 255) issues.add(tp, `${t} is not an ICMP type (0-255)`);
  } else if (typeof t === 'string') {
    if (/^\d+$/.test(t)) {
      if (Number(t) > 255) issues.add(tp, `${JSON.stringify(t)} is not an ICMP type (0-255)`);
    } else {
      const table = family === 'IPv6' ? ICMPv6TypeNames : ICMPv4TypeNames;
      if (!Object.hasOwn(table, t)) issues.add(tp, `${JSON.stringify(t)} is not a known ${family === 'IPv6' ? 'ICMPv6' : 'ICMPv4'} type name`);
    }
  } else issues.add(tp, `must be an ICMP type number or name, got ${describeType(t)}`);
  if (issues.count !== before) return undefined;
  return { family, type: t as number | string };
}
