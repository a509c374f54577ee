// source_port / destination_port: TCP, UDP or SCTP ports (ICMP never matches).
import type { flow } from '@cilium-ts/api';
import { FilterError, type FlowFilterKind, type FlowPredicate } from './filter.js';

function compile(field: string, entries: string[], pick: (l4: flow.TCP | flow.UDP | flow.SCTP) => number): FlowPredicate {
  const ports = new Set(
    entries.map((e) => {
      if (!/^\d{1,5}$/.test(e) || Number(e) > 65535) throw new FilterError(field, e, 'not a port number; use 0-65535');
      return Number(e);
    }),
  );
  return (f) => {
    const l4 = f.l4?.TCP ?? f.l4?.UDP ?? f.l4?.SCTP;
    return l4 !== undefined && ports.has(pick(l4));
  };
}

/** The port filter kind. */
export const portFilter: FlowFilterKind = {
  name: 'port',
  build(ff) {
    const out: FlowPredicate[] = [];
    if (ff.sourcePort.length > 0) out.push(compile('source_port', ff.sourcePort, (l4) => l4.sourcePort));
    if (ff.destinationPort.length > 0) out.push(compile('destination_port', ff.destinationPort, (l4) => l4.destinationPort));
    return out;
  },
};
