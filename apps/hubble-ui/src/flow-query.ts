// The page's flow query (`/api/flows?namespace=&verdict=&pod=&port=&protocol=&history=`):
// every parameter checked, the whole query turned into the relay's GetFlows filters. A bad
// query is a QueryError that names the parameter and why (answered 400).
import { flow, observer } from '@cilium-ts/api';
import { compileFlowFilters, FilterError } from '@cilium-ts/flow';

/** QueryError is a query parameter the backend refuses (HTTP 400). */
export class QueryError extends Error {
  override readonly name = 'QueryError';
  constructor(readonly parameter: string, reason: string) {
    super(`query parameter "${parameter}": ${reason}`);
  }
}

/** FlowQuery is a checked page query. */
export interface FlowQuery {
  namespace?: string;
  pod?: string;
  verdict?: flow.Verdict;
  port?: number;
  protocol?: string;
  /** How many past flows to send first (GetFlows number with follow). */
  history: number;
}

/** FLOW_QUERY_PARAMETERS are the parameters /api/flows knows. */
export const FLOW_QUERY_PARAMETERS = ['namespace', 'pod', 'verdict', 'port', 'protocol', 'history'] as const;
/** DEFAULT_HISTORY is the number of past flows sent when `history` is not given. */
export const DEFAULT_HISTORY = 1000;
/** MAX_HISTORY bounds `history`. */
export const MAX_HISTORY = 20_000;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const POD_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const VERDICTS: Record<string, flow.Verdict> = {
  FORWARDED: flow.Verdict.FORWARDED,
  DROPPED: flow.Verdict.DROPPED,
  ERROR: flow.Verdict.ERROR,
  AUDIT: flow.Verdict.AUDIT,
  REDIRECTED: flow.Verdict.REDIRECTED,
};

/** checkNamespace refuses what is not a Kubernetes namespace name (a DNS label). */
export function checkNamespace(parameter: string, value: string): string {
  if (value.length > 63 || !DNS_LABEL.test(value)) {
    throw new QueryError(parameter, `"${value}" is not a namespace name (lower-case letters, digits and '-', at most 63, starting and ending with a letter or digit)`);
  }
  return value;
}

/**
 * parseFlowQuery checks a query string: only known parameters, each at most once, values
 * well formed; an empty value is the same as no value.
 */
export function parseFlowQuery(params: URLSearchParams): FlowQuery {
  const seen = new Set<string>();
  for (const key of params.keys()) {
    if (!(FLOW_QUERY_PARAMETERS as readonly string[]).includes(key)) {
      throw new QueryError(key, `unknown parameter; use ${FLOW_QUERY_PARAMETERS.join(', ')}`);
    }
    if (seen.has(key)) throw new QueryError(key, 'given more than once');
    seen.add(key);
  }
  const get = (k: string): string | undefined => {
    const v = params.get(k);
    return v === null || v === '' ? undefined : v;
  };
  const q: FlowQuery = { history: DEFAULT_HISTORY };
  const ns = get('namespace');
  if (ns !== undefined) q.namespace = checkNamespace('namespace', ns);
  const pod = get('pod');
  if (pod !== undefined) {
    const slash = pod.indexOf('/');
    const name = slash >= 0 ? pod.slice(slash + 1) : pod;
    if (slash >= 0) checkNamespace('pod', pod.slice(0, slash));
    if (name.length > 253 || !POD_NAME.test(name)) throw new QueryError('pod', `"${pod}" is not [namespace/]pod-name (lower-case letters, digits, '-' and '.')`);
    q.pod = pod;
  }
  const verdict = get('verdict');
  if (verdict !== undefined) {
    const v = VERDICTS[verdict.toUpperCase()];
    if (v === undefined) throw new QueryError('verdict', `"${verdict}" is not a verdict; use ${Object.keys(VERDICTS).join(', ')}`);
    q.verdict = v;
  }
  const port = get('port');
  if (port !== undefined) {
    if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) throw new QueryError('port', `"${port}" is not a port number (1-65535)`);
    q.port = Number(port);
  }
  const protocol = get('protocol');
  if (protocol !== undefined) q.protocol = protocol.toLowerCase();
  const history = get('history');
  if (history !== undefined) {
    if (!/^\d{1,6}$/.test(history) || Number(history) > MAX_HISTORY) throw new QueryError('history', `"${history}" is not a number of flows from 0 to ${MAX_HISTORY}`);
    q.history = Number(history);
  }
  // The relay checks filters too; checking here makes a bad one a 400 before any stream opens.
  try {
    compileFlowFilters(flowFilters(q), []);
  } catch (err) {
    if (err instanceof FilterError) {
      const parameter = err.field.endsWith('port') ? 'port' : err.field.endsWith('pod') ? (q.pod !== undefined ? 'pod' : 'namespace') : err.field;
      throw new QueryError(parameter, err.message);
    }
    throw err;
  }
  return q;
}

/**
 * flowFilters turns a query into GetFlows' allow list as `hubble observe` does: the
 * direction-less namespace and pod go into the source of one filter and the destination of
 * another (either side matches); verdict, port (the destination port) and protocol into both.
 */
export function flowFilters(q: FlowQuery): flow.FlowFilter[] {
  const common: Partial<flow.FlowFilter> = {};
  if (q.verdict !== undefined) common.verdict = [q.verdict];
  if (q.port !== undefined) common.destinationPort = [String(q.port)];
  if (q.protocol !== undefined) common.protocol = [q.protocol];
  const pod = q.pod !== undefined ? (q.pod.includes('/') ? q.pod : `${q.namespace ?? 'default'}/${q.pod}`) : q.namespace !== undefined ? `${q.namespace}/` : undefined;
  if (pod === undefined) return Object.keys(common).length > 0 ? [flow.FlowFilter.fromPartial(common)] : [];
  return [flow.FlowFilter.fromPartial({ ...common, sourcePod: [pod] }), flow.FlowFilter.fromPartial({ ...common, destinationPod: [pod] })];
}

/** flowsRequest is the follow GetFlows request of a query. */
export function flowsRequest(q: FlowQuery): observer.GetFlowsRequest {
  return observer.GetFlowsRequest.fromPartial({ follow: true, number: BigInt(q.history), whitelist: flowFilters(q) });
}
