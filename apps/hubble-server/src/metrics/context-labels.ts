// sourceContext / destinationContext options: which property of each flow endpoint
// becomes the `source` / `destination` label (upstream's metrics context options).
import type { flow } from '@cilium-ts/api';
import { MetricSpecError, type MetricSpec } from './metric-spec.js';

type Side = 'source' | 'destination';
type Pick = (f: flow.Flow, side: Side) => string;

const endpoint = (f: flow.Flow, side: Side): flow.Endpoint | undefined => (side === 'source' ? f.source : f.destination);

/** Drops the ReplicaSet / pod hash suffixes (`web-7d4b9c8f6-x2x9z` -> `web`). */
export function shortPodName(pod: string): string {
  const m = /^(.+?)(-[a-z0-9]{5,10})?-[a-z0-9]{5}$/.exec(pod);
  return m ? m[1]! : pod;
}

function labelValue(labels: readonly string[], keys: string[]): string {
  for (const l of labels) {
    const colon = l.indexOf(':');
    const rest = colon >= 0 ? l.slice(colon + 1) : l;
    const eq = rest.indexOf('=');
    if (eq > 0 && keys.includes(rest.slice(0, eq))) return rest.slice(eq + 1);
  }
  return '';
}

/** Every context a label can be taken from. */
export const CONTEXTS: Record<string, Pick> = {
  namespace: (f, s) => endpoint(f, s)?.namespace ?? '',
  pod: (f, s) => {
    const ep = endpoint(f, s);
    return ep?.podName ? (ep.namespace ? `${ep.namespace}/${ep.podName}` : ep.podName) : '';
  },
  'pod-short': (f, s) => {
    const ep = endpoint(f, s);
    return ep?.podName ? (ep.namespace ? `${ep.namespace}/${shortPodName(ep.podName)}` : shortPodName(ep.podName)) : '';
  },
  dns: (f, s) => (s === 'source' ? f.sourceNames[0] : f.destinationNames[0]) ?? '',
  ip: (f, s) => (s === 'source' ? f.IP?.source : f.IP?.destination) ?? '',
  identity: (f, s) => endpoint(f, s)?.labels.join(',') ?? '',
  'reserved-identity': (f, s) => endpoint(f, s)?.labels.find((l) => l.startsWith('reserved:')) ?? '',
  'workload-name': (f, s) => endpoint(f, s)?.workloads[0]?.name ?? '',
  app: (f, s) => labelValue(endpoint(f, s)?.labels ?? [], ['app', 'app.kubernetes.io/name', 'k8s-app']),
};

/** Options every handler accepts. */
export const CONTEXT_OPTIONS = ['sourceContext', 'destinationContext'];

/** The extra labels a handler adds for its context options. */
export interface ContextLabels {
  /** Label names, in order (`source`, `destination`, or fewer). */
  readonly names: string[];
  /** The label values for a flow. */
  values(f: flow.Flow): Record<string, string>;
}

function compile(spec: MetricSpec, option: string): Pick[] | undefined {
  const raw = spec.options.get(option);
  if (raw === undefined) return undefined;
  return raw.split('|').map((name) => {
    const pick = CONTEXTS[name];
    if (!pick) throw new MetricSpecError(`${spec.name}:${option}=${raw}`, `unknown context "${name}"; use ${Object.keys(CONTEXTS).join(', ')} (alternatives separated by "|")`);
    return pick;
  });
}

/** Compiles sourceContext / destinationContext: a value is the first non-empty alternative. */
export function contextLabels(spec: MetricSpec): ContextLabels {
  const src = compile(spec, 'sourceContext');
  const dst = compile(spec, 'destinationContext');
  const first = (picks: Pick[], f: flow.Flow, side: Side): string => {
    for (const p of picks) {
      const v = p(f, side);
      if (v !== '') return v;
    }
    return '';
  };
  const names = [...(src ? ['source'] : []), ...(dst ? ['destination'] : [])];
  return {
    names,
    values(f) {
      const out: Record<string, string> = {};
      if (src) out.source = first(src, f, 'source');
      if (dst) out.destination = first(dst, f, 'destination');
      return out;
    },
  };
}
