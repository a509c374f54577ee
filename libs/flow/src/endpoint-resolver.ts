// The source / destination flow.Endpoint of a datapath event: local endpoint (by id, then by
// IP, then the record's destination-endpoint hint) -> ipcache entry -> the datapath's
// identity; labels from the endpoint, else the identity getter, else the reserved identity
// table. Results are memoized: the same few endpoints appear in flow after flow, so each
// distinct answer is built (labels copied and sorted) once and shared. The metadata getters
// hand out a new object whenever an entry changes, so a memo entry is reused only while every
// input it was built from is the same object / number.
import type { flow } from '@cilium-ts/api';
import type { EndpointGetter, EndpointInfo, IdentityGetter, IdentityInfo, IPCacheGetter, IPCacheInfo } from './getters.js';
import { reservedIdentityLabels } from './reserved-identities.js';

/** The getters an EndpointResolver consults. */
export interface EndpointSources {
  endpoints?: EndpointGetter;
  identities?: IdentityGetter;
  ipcache?: IPCacheGetter;
}

interface MemoEntry {
  ep: EndpointInfo | undefined;
  cached: IPCacheInfo | undefined;
  identityInfo: IdentityInfo | undefined;
  identity: number;
  id: number;
  result: flow.Endpoint;
}

const NO_WORKLOADS = Object.freeze([]) as unknown as flow.Workload[];
const NO_LABELS: readonly string[] = Object.freeze([]);
/** Memo entries keyed by number (no endpoint, no ipcache entry) before the map is reset. */
const MAX_NUMBER_KEYS = 4096;

/**
 * Resolves and memoizes flow endpoints. The flow.Endpoint objects it returns are shared
 * between flows and must not be mutated (copy them before handing them to code that might).
 */
export class EndpointResolver {
  private readonly byObject = new WeakMap<object, MemoEntry>();
  private readonly byIdentity = new Map<number, MemoEntry>();

  constructor(private readonly sources: EndpointSources) {}

  /** The endpoint of one side of a flow (`ip` from the packet, `localId` / `hintId` from the record, 0 when unknown). */
  resolve(ip: string | undefined, datapathIdentity: number, localId: number, hintId: number): flow.Endpoint {
    const s = this.sources;
    let ep: EndpointInfo | undefined = localId !== 0 ? s.endpoints?.getEndpointByID(localId) : undefined;
    if (!ep && ip !== undefined) ep = s.endpoints?.getEndpointByIP(ip);
    if (!ep && hintId !== 0) ep = s.endpoints?.getEndpointByID(hintId);
    const cached = ip !== undefined ? s.ipcache?.getIPIdentity(ip) : undefined;
    const identity = (ep?.identity || cached?.identity || datapathIdentity) >>> 0;
    const id = ep?.id ?? (localId || hintId);
    const identityInfo = ep?.labels.length ? undefined : s.identities?.getIdentity(identity);
    const key: object | undefined = ep ?? cached ?? identityInfo;
    const memo = key !== undefined ? this.byObject.get(key) : this.byIdentity.get(identity);
    if (memo && memo.ep === ep && memo.cached === cached && memo.identityInfo === identityInfo && memo.identity === identity && memo.id === id) {
      return memo.result;
    }
    const source = ep?.labels.length ? ep.labels : (identityInfo?.labels ?? reservedIdentityLabels(identity) ?? NO_LABELS);
    const result: flow.Endpoint = {
      ID: id,
      identity,
      namespace: ep?.namespace || cached?.namespace || '',
      podName: ep?.podName || cached?.podName || '',
      labels: [...source].sort(),
      workloads: NO_WORKLOADS,
    };
    const entry: MemoEntry = { ep, cached, identityInfo, identity, id, result };
    if (key !== undefined) {
      this.byObject.set(key, entry);
    } else {
      if (this.byIdentity.size >= MAX_NUMBER_KEYS) this.byIdentity.clear();
      this.byIdentity.set(identity, entry);
    }
    return result;
  }
}

/** A copy of a (shared) flow.Endpoint that its receiver may change. */
export function copyEndpoint(e: flow.Endpoint): flow.Endpoint {
  return { ID: e.ID, identity: e.identity, namespace: e.namespace, podName: e.podName, labels: e.labels.slice(), workloads: [] };
}
