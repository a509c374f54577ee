// source_ip / destination_ip: exact address equality or CIDR containment.
import type { flow } from '@cilium-ts/api';
import { cidrContains, formatIPv4, formatIPv6, parseCidr, parseIP } from '@cilium-ts/netaddr';
import { FilterError, type FlowFilterKind, type FlowPredicate } from './filter.js';

function compile(field: string, entries: string[], pick: (f: flow.Flow) => string | undefined): FlowPredicate {
  const exact = new Set<string>();
  const cidrs = entries.flatMap((e) => {
    if (e.includes('/')) {
      const c = parseCidr(e);
      if (!c) throw new FilterError(field, e, 'not a CIDR; write it like 10.0.0.0/8 or fd00::/64');
      return [c];
    }
    const bytes = parseIP(e);
    if (!bytes) throw new FilterError(field, e, 'not an IP address; write an IPv4 or IPv6 address or a CIDR');
    // Flows carry canonical text (fd00::1, not fd00:0::1): compare against the canonical form.
    exact.add(bytes.length === 4 ? formatIPv4(bytes) : formatIPv6(bytes));
    return [];
  });
  return (f) => {
    const ip = pick(f);
    if (!ip) return false;
    if (exact.has(ip)) return true;
    if (cidrs.length === 0) return false;
    const bytes = parseIP(ip);
    return bytes !== undefined && cidrs.some((c) => cidrContains(c, bytes));
  };
}

/** The IP address filter kind. */
export const ipFilter: FlowFilterKind = {
  name: 'ip',
  build(ff) {
    const out: FlowPredicate[] = [];
    if (ff.sourceIp.length > 0) out.push(compile('source_ip', ff.sourceIp, (f) => f.IP?.source));
    if (ff.destinationIp.length > 0) out.push(compile('destination_ip', ff.destinationIp, (f) => f.IP?.destination));
    return out;
  },
};
