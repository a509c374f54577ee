// `tcp`: hubble_tcp_flags_total{flag, family}.
import { familyName, type MetricHandler } from './handler.js';

/** TCP flag occurrences: SYN, SYN-ACK, FIN, RST. */
export const tcpHandler: MetricHandler = {
  name: 'tcp',
  options: [],
  create(meter) {
    const flags = meter.createCounter('hubble_tcp_flags_total', { description: 'TCP flag occurrences' });
    return (f, context) => {
      const fl = f.l4?.TCP?.flags;
      if (!fl) return;
      const family = familyName(f);
      if (fl.SYN) flags.add(1, { flag: fl.ACK ? 'SYN-ACK' : 'SYN', family, ...context });
      if (fl.FIN) flags.add(1, { flag: 'FIN', family, ...context });
      if (fl.RST) flags.add(1, { flag: 'RST', family, ...context });
    };
  },
};
