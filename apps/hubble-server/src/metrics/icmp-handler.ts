// `icmp`: hubble_icmp_total{family, type}.
import { icmpv4TypeCodeName, icmpv6TypeCodeName } from '@cilium-ts/flow';
import type { MetricHandler } from './handler.js';

/** ICMP messages by family and type name (EchoRequest, DestinationUnreachable, ...). */
export const icmpHandler: MetricHandler = {
  name: 'icmp',
  options: [],
  create(meter) {
    const icmp = meter.createCounter('hubble_icmp_total', { description: 'Number of ICMP messages' });
    const typeName = (text: string): string => text.replace(/\(.*\)$/, '');
    return (f, context) => {
      const v4 = f.l4?.ICMPv4;
      if (v4) icmp.add(1, { family: 'IPv4', type: typeName(icmpv4TypeCodeName(v4.type, v4.code)), ...context });
      const v6 = f.l4?.ICMPv6;
      if (v6) icmp.add(1, { family: 'IPv6', type: typeName(icmpv6TypeCodeName(v6.type, v6.code)), ...context });
    };
  },
};
