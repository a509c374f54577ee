// `dns[:query;ignoreAAAA]`: hubble_dns_queries_total{rcode?, qtypes, ips_returned},
// hubble_dns_responses_total{rcode, qtypes, ips_returned} and
// hubble_dns_response_types_total{type, qtypes}. Empty until L7 flows exist.
import { flow } from '@cilium-ts/api';
import type { MetricHandler } from './handler.js';

const RCODES: Record<number, string> = {
  0: 'No Error', 1: 'Format Error', 2: 'Server Failure', 3: 'Non-Existent Domain', 4: 'Not Implemented', 5: 'Query Refused',
};

/** DNS queries, responses and answer record types from L7 DNS flows. */
export const dnsHandler: MetricHandler = {
  name: 'dns',
  options: ['query', 'ignoreAAAA'],
  create(meter, spec) {
    const withQuery = spec.options.has('query');
    const ignoreAAAA = spec.options.has('ignoreAAAA');
    const queries = meter.createCounter('hubble_dns_queries_total', { description: 'Number of DNS queries observed' });
    const responses = meter.createCounter('hubble_dns_responses_total', { description: 'Number of DNS responses observed' });
    const types = meter.createCounter('hubble_dns_response_types_total', { description: 'Number of DNS response types' });
    return (f, context) => {
      const dns = f.l7?.dns;
      if (!dns) return;
      if (ignoreAAAA && dns.qtypes.includes('AAAA')) return;
      const qtypes = dns.qtypes.join(',');
      const q = withQuery ? { query: dns.query } : {};
      if (f.l7!.type === flow.L7FlowType.REQUEST) {
        queries.add(1, { rcode: '', qtypes, ips_returned: '0', ...q, ...context });
      } else if (f.l7!.type === flow.L7FlowType.RESPONSE) {
        const rcode = RCODES[dns.rcode] ?? String(dns.rcode);
        responses.add(1, { rcode, qtypes, ips_returned: String(dns.ips.length), ...q, ...context });
        for (const t of dns.rrtypes) types.add(1, { type: t, qtypes, ...context });
      }
    };
  },
};
