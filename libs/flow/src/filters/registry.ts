// The default list of filter kinds and the compiler from allow/deny FlowFilter lists to one predicate.
import type { flow } from '@cilium-ts/api';
import { dnsFilter } from './dns.js';
import { eventTypeFilter } from './event-type.js';
import type { FlowFilterKind, FlowPredicate } from './filter.js';
import { fqdnFilter } from './fqdn.js';
import { httpFilter } from './http.js';
import { identityFilter } from './identity.js';
import { ipVersionFilter } from './ip-version.js';
import { ipFilter } from './ip.js';
import { labelFilter } from './label.js';
import { nodeNameFilter } from './node-name.js';
import { podFilter } from './pod.js';
import { portFilter } from './port.js';
import { protocolFilter } from './protocol.js';
import { replyFilter } from './reply.js';
import { serviceFilter } from './service.js';
import { tcpFlagsFilter } from './tcp-flags.js';
import { trafficDirectionFilter } from './traffic-direction.js';
import { verdictFilter } from './verdict.js';
import { workloadFilter } from './workload.js';
import { flowIdFilter } from './flow-id.js';

/** Every filter kind hubble-server applies, in evaluation order. */
export const DEFAULT_FILTER_KINDS: readonly FlowFilterKind[] = [
  ipFilter,
  podFilter,
  fqdnFilter,
  labelFilter,
  serviceFilter,
  verdictFilter,
  eventTypeFilter,
  httpFilter,
  protocolFilter,
  portFilter,
  replyFilter,
  dnsFilter,
  identityFilter,
  tcpFlagsFilter,
  nodeNameFilter,
  ipVersionFilter,
  workloadFilter,
  trafficDirectionFilter,
  flowIdFilter,
];

/** Compiles one FlowFilter: all its set fields must hold (an empty filter matches everything). */
export function compileFlowFilter(filter: flow.FlowFilter, kinds: readonly FlowFilterKind[] = DEFAULT_FILTER_KINDS): FlowPredicate {
  const preds = kinds.flatMap((k) => k.build(filter));
  return (f) => preds.every((p) => p(f));
}

/**
 * Compiles allow (whitelist) and deny (blacklist) lists: a flow passes iff it matches at
 * least one allow filter (an empty list allows all) and no deny filter. Throws FilterError.
 */
export function compileFlowFilters(
  allow: readonly flow.FlowFilter[],
  deny: readonly flow.FlowFilter[],
  kinds: readonly FlowFilterKind[] = DEFAULT_FILTER_KINDS,
): FlowPredicate {
  const allows = allow.map((f) => compileFlowFilter(f, kinds));
  const denies = deny.map((f) => compileFlowFilter(f, kinds));
  return (f) => (allows.length === 0 || allows.some((p) => p(f))) && !denies.some((p) => p(f));
}
