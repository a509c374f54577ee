// The shape of one metrics handler (flow, drop, tcp, ...), registered in registry.ts.
import type { Attributes, Meter } from '@opentelemetry/api';
import type { flow } from '@cilium-ts/api';
import type { ContextLabels } from './context-labels.js';
import type { MetricSpec } from './metric-spec.js';

/** Records one flow into a handler's instruments. */
export type FlowRecorder = (f: flow.Flow, context: Attributes) => void;

/** A metrics handler kind. */
export interface MetricHandler {
  /** The --metrics name, e.g. `port-distribution`. */
  readonly name: string;
  /** Options this handler accepts besides sourceContext / destinationContext. */
  readonly options: readonly string[];
  /** Creates its instruments on `meter`; throws MetricSpecError on bad option values. */
  create(meter: Meter, spec: MetricSpec, context: ContextLabels): FlowRecorder;
}

/** L4 protocol name of a flow as upstream labels it (TCP, UDP, ICMPv4, ICMPv6, Unknown). */
export function l4ProtocolName(f: flow.Flow): string {
  const l4 = f.l4;
  if (l4?.TCP) return 'TCP';
  if (l4?.UDP) return 'UDP';
  if (l4?.ICMPv4) return 'ICMPv4';
  if (l4?.ICMPv6) return 'ICMPv6';
  return 'Unknown';
}

/** IP family label (IPv4 / IPv6). */
export function familyName(f: flow.Flow): string {
  return f.IP?.ipVersion === 2 ? 'IPv6' : 'IPv4';
}
