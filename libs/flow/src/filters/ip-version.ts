// ip_version: IPv4 / IPv6 / IP_NOT_USED (a flow without IP).
import { flow } from '@cilium-ts/api';
import type { FlowFilterKind } from './filter.js';

/** The IP version filter kind. */
export const ipVersionFilter: FlowFilterKind = {
  name: 'ip_version',
  build(ff) {
    if (ff.ipVersion.length === 0) return [];
    const set = new Set(ff.ipVersion);
    return [(f) => set.has(f.IP?.ipVersion ?? flow.IPVersion.IP_NOT_USED)];
  },
};
