// protocol: L4 (tcp, udp, sctp, icmp, icmpv4, icmpv6) or L7 (dns, http, kafka) protocol names.
import type { flow } from '@cilium-ts/api';
import { FilterError, type FlowFilterKind, type FlowPredicate } from './filter.js';

const TESTS: Record<string, FlowPredicate> = {
  tcp: (f) => f.l4?.TCP !== undefined,
  udp: (f) => f.l4?.UDP !== undefined,
  sctp: (f) => f.l4?.SCTP !== undefined,
  icmp: (f) => f.l4?.ICMPv4 !== undefined || f.l4?.ICMPv6 !== undefined,
  icmpv4: (f) => f.l4?.ICMPv4 !== undefined,
  icmpv6: (f) => f.l4?.ICMPv6 !== undefined,
  dns: (f: flow.Flow) => f.l7?.dns !== undefined,
  http: (f) => f.l7?.http !== undefined,
  kafka: (f) => f.l7?.kafka !== undefined,
};

/** The protocol filter kind. */
export const protocolFilter: FlowFilterKind = {
  name: 'protocol',
  build(ff) {
    if (ff.protocol.length === 0) return [];
    const tests = ff.protocol.map((p) => {
      const t = TESTS[p.toLowerCase()];
      if (!t) throw new FilterError('protocol', p, `unknown protocol; use one of ${Object.keys(TESTS).join(', ')}`);
      return t;
    });
    return [(f) => tests.some((t) => t(f))];
  },
};
