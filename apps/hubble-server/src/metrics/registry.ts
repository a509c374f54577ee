// The metrics handlers hubble-server knows, and FlowMetrics: the enabled ones, fed every flow.
import { metrics as otelMetrics, type Meter } from '@opentelemetry/api';
import type { flow } from '@cilium-ts/api';
import { CONTEXT_OPTIONS, contextLabels } from './context-labels.js';
import { dnsHandler } from './dns-handler.js';
import { dropHandler } from './drop-handler.js';
import { flowHandler } from './flow-handler.js';
import type { FlowRecorder, MetricHandler } from './handler.js';
import { httpHandler } from './http-handler.js';
import { icmpHandler } from './icmp-handler.js';
import { MetricSpecError, parseMetricSpecs } from './metric-spec.js';
import { portDistributionHandler } from './port-distribution-handler.js';
import { tcpHandler } from './tcp-handler.js';

/** Every handler that --metrics may name. */
export const METRIC_HANDLERS: readonly MetricHandler[] = [
  flowHandler, dropHandler, tcpHandler, portDistributionHandler, icmpHandler, httpHandler, dnsHandler,
];

/** The --metrics default: what hubble-server exported before the flag existed. */
export const DEFAULT_METRICS = ['flow', 'drop', 'tcp', 'port-distribution'];

/** The enabled Hubble metrics handlers; `observe` records one flow into each. */
export class FlowMetrics {
  private readonly recorders: { record: FlowRecorder; context: ReturnType<typeof contextLabels> }[];
  /** Names of the enabled handlers, in --metrics order. */
  readonly enabled: string[];

  /**
   * Enables the handlers named by `entries` (the --metrics list, e.g. `['flow', 'dns:query']`)
   * on `meter` (default: the global OpenTelemetry meter; create it after startTelemetry).
   * Throws MetricSpecError for unknown handlers, options or contexts.
   */
  constructor(entries: readonly string[] = DEFAULT_METRICS, meter: Meter = otelMetrics.getMeter('@cilium-ts/hubble-server')) {
    const specs = parseMetricSpecs(entries);
    this.enabled = specs.map((s) => s.name);
    this.recorders = specs.map((spec) => {
      const handler = METRIC_HANDLERS.find((h) => h.name === spec.name);
      if (!handler) {
        throw new MetricSpecError(spec.name, `unknown metric "${spec.name}"; use ${METRIC_HANDLERS.map((h) => h.name).join(', ')}`);
      }
      for (const key of spec.options.keys()) {
        if (!CONTEXT_OPTIONS.includes(key) && !handler.options.includes(key)) {
          const known = [...CONTEXT_OPTIONS, ...handler.options].join(', ');
          throw new MetricSpecError(`${spec.name}:${key}`, `unknown option "${key}" for ${spec.name}; use ${known}`);
        }
      }
      const context = contextLabels(spec);
      return { record: handler.create(meter, spec, context), context };
    });
  }

  /** Records one flow. */
  observe(f: flow.Flow): void {
    for (const r of this.recorders) r.record(f, r.context.names.length === 0 ? NO_CONTEXT : r.context.values(f));
  }
}

const NO_CONTEXT = Object.freeze({}) as Record<string, string>;
