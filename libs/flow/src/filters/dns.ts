// dns_query: regexes against the L7 DNS query.
import { FilterError, type FlowFilterKind } from './filter.js';

/** The DNS query filter kind. */
export const dnsFilter: FlowFilterKind = {
  name: 'dns',
  build(ff) {
    if (ff.dnsQuery.length === 0) return [];
    const res = ff.dnsQuery.map((q) => {
      try {
        return new RegExp(q);
      } catch (err) {
        throw new FilterError('dns_query', q, `not a valid regular expression (${(err as Error).message})`);
      }
    });
    return [
      (f) => {
        const dns = f.l7?.dns;
        return dns !== undefined && res.some((r) => r.test(dns.query));
      },
    ];
  },
};
