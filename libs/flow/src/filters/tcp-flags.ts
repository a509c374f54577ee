// tcp_flags: every flag set in some entry is also set on the packet.
import type { flow } from '@cilium-ts/api';
import type { FlowFilterKind } from './filter.js';

const NAMES: (keyof flow.TCPFlags)[] = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR', 'NS'];

/** The TCP flags filter kind. */
export const tcpFlagsFilter: FlowFilterKind = {
  name: 'tcp_flags',
  build(ff) {
    if (ff.tcpFlags.length === 0) return [];
    const wanted = ff.tcpFlags.map((e) => NAMES.filter((n) => e[n]));
    return [
      (f) => {
        const flags = f.l4?.TCP?.flags;
        return flags !== undefined && wanted.some((names) => names.every((n) => flags[n]));
      },
    ];
  },
};
