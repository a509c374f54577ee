// `port-distribution`: hubble_port_distribution_total{protocol, port}.
import { flow } from '@cilium-ts/api';
import { l4ProtocolName, type MetricHandler } from './handler.js';

/** Destination ports of forwarded, non-reply TCP and UDP flows. */
export const portDistributionHandler: MetricHandler = {
  name: 'port-distribution',
  options: [],
  create(meter) {
    const ports = meter.createCounter('hubble_port_distribution_total', { description: 'Numbers of packets distributed by destination port' });
    return (f, context) => {
      if (f.verdict !== flow.Verdict.FORWARDED || f.isReply === true) return;
      const l4 = f.l4?.TCP ?? f.l4?.UDP;
      if (!l4) return;
      ports.add(1, { protocol: l4ProtocolName(f), port: String(l4.destinationPort), ...context });
    };
  },
};
