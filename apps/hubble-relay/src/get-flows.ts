import { Metadata, status as Status, type ServerWritableStream } from '@grpc/grpc-js';
import { observer, relay } from '@cilium-ts/api';
import { compileFlowFilters, FilterError, ReadRequestError, validateReadRequest } from '@cilium-ts/flow';
import { ErrorAggregator } from './error-aggregator.js';
import { FlowSorter, sortBufferCapacity } from './flow-sorter.js';
import { InvalidArgumentError, statusText } from '@cilium-ts/grpc';
import type { PeerSource, PeerView } from './peer-manager.js';
import { timeFromMs } from './timestamps.js';
import { ClientWriter } from './client-writer.js';
import { openPeerFlows, type PeerFlowStream } from './peer-flow-stream.js';
import { encodeOwnResponse, scanGetFlowsResponse, type WireResponse } from './wire-response.js';

/** GetFlowsOptions tune the relay's merge of node streams. */
export interface GetFlowsOptions {
  /** Relay's own name, put on node_status responses. */
  nodeName: string;
  /** Upper bound of the sort buffer (--sort-buffer-len-max). */
  sortBufferLenMax: number;
  /** Drain timeout of the sort buffer (--sort-buffer-drain-timeout). */
  sortBufferDrainTimeoutMs: number;
  /** Window in which node errors with the same message are coalesced (upstream: 10 s). */
  errorAggregationWindowMs: number;
  /** Counters to keep up to date (calls and peer streams in progress). */
  stats?: RelayFlowStats;
  /** Write to the caller's HTTP/2 stream in batches when possible (default true; false: grpc-js per message). */
  batchedWrites?: boolean;
}

/** Header names that describe the incoming HTTP/2 call and must not be forwarded to peers. */
const RESERVED_HEADERS = new Set(['user-agent', 'content-type', 'te', 'host', 'authority', 'accept-encoding']);

function forwardedMetadata(incoming: Metadata): Metadata {
  const md = new Metadata();
  for (const [key, value] of Object.entries(incoming.getMap())) {
    if (RESERVED_HEADERS.has(key) || key.startsWith('grpc-') || key.startsWith(':')) continue;
    md.set(key, value);
  }
  return md;
}

/** nodeStatusResponse builds a node_status response stamped with the relay's name and now. */
export function nodeStatusResponse(nodeName: string, state: relay.NodeState, nodeNames: string[], message = ''): observer.GetFlowsResponse {
  return observer.GetFlowsResponse.fromPartial({
    nodeStatus: relay.NodeStatusEvent.fromPartial({ stateChange: state, nodeNames, message }),
    nodeName,
    time: timeFromMs(Date.now()),
  });
}

function nodeStatusWire(nodeName: string, state: relay.NodeState, nodeNames: string[], message = ''): WireResponse {
  return encodeOwnResponse(nodeStatusResponse(nodeName, state, nodeNames, message));
}

/**
 * checkGetFlowsRequest rejects, with INVALID_ARGUMENT, a request every node would reject: a
 * filter that does not compile (the same filters as hubble-server's) or contradictory
 * number / first / follow / since / until. Checked before anything is fanned out, so the
 * caller gets the status the servers give rather than one NODE_ERROR per node and an OK end.
 */
export function checkGetFlowsRequest(req: observer.GetFlowsRequest): void {
  try {
    compileFlowFilters(req.whitelist, req.blacklist);
    validateReadRequest(req);
  } catch (err) {
    if (err instanceof FilterError || err instanceof ReadRequestError) throw new InvalidArgumentError(err.message, { field: err.field, cause: err });
    throw err;
  }
}

/** Live counters of the relay's GetFlows work, for tests and health checks. */
export interface RelayFlowStats {
  /** GetFlows calls in progress. */
  calls: number;
  /** Streams open to peers on behalf of those calls. */
  peerStreams: number;
}

/** usable tells whether a peer can be asked for flows now: available, with a connection (raw or grpc-js). */
function usable(p: PeerView): boolean {
  return p.available && (p.rawChannel !== undefined || p.client !== undefined);
}

/** Where a peer stands within one follow-mode call. */
type PeerPhase = 'streaming' | 'ended' | 'unavailable';

/**
 * relayGetFlows serves one GetFlows call: it checks the request (checkGetFlowsRequest throws
 * InvalidArgumentError), forwards the identical request to every available
 * peer, announces NODE_CONNECTED / NODE_UNAVAILABLE, merges the peer streams by time through a
 * bounded sort buffer, turns failed peer streams into NODE_ERROR events, honours the caller's
 * back-pressure by pausing the peer streams, ends OK when every peer stream has ended
 * (non-follow), and cancels the peer streams when the caller goes away.
 *
 * Peers' responses stay bytes end to end: each is scanned for its kind and time only, sorted,
 * and written to the caller unchanged, in batches (ClientWriter).
 *
 * In follow mode it also watches the peer pool: a peer whose connection drops is announced
 * NODE_UNAVAILABLE; a peer that becomes available (back after a restart, or new) is queried
 * again for new flows only (number 0, no since, as upstream's periodic re-list does, so the
 * merged order holds) and announced NODE_CONNECTED. The call then lasts until the caller
 * cancels, even while no peer is reachable.
 */
export function relayGetFlows(
  call: ServerWritableStream<observer.GetFlowsRequest, observer.GetFlowsResponse>,
  source: PeerSource,
  opts: GetFlowsOptions,
): void {
  const req = call.request;
  // A caller gone before the handler ran gets no 'cancelled' event any more: starting would
  // leave its peer streams (and, following, its pool watcher) open for good.
  if (call.cancelled || call.destroyed) return;
  checkGetFlowsRequest(req);
  const peers = source.list();
  const queried = peers.filter(usable);
  const unavailable = peers.filter((p) => !usable(p));
  const streams = new Set<PeerFlowStream>();
  const phase = new Map<string, PeerPhase>();
  const stats = opts.stats;
  let finished = false;
  let running = 0;
  let unwatch: (() => void) | undefined;
  if (stats) stats.calls++;

  const out = new ClientWriter(
    call as unknown as ServerWritableStream<unknown, WireResponse>,
    (blocked) => {
      if (finished) return;
      for (const s of streams) {
        if (blocked) s.pause();
        else s.resume();
      }
    },
    opts.batchedWrites ?? true,
  );
  const write = (resp: WireResponse): void => {
    if (!finished) out.write(resp);
  };

  const sorter = new FlowSorter<WireResponse>(
    { capacity: sortBufferCapacity(opts.sortBufferLenMax, req.number, queried.length), drainTimeoutMs: opts.sortBufferDrainTimeoutMs },
    write,
  );
  const errors = new ErrorAggregator(opts.errorAggregationWindowMs, (group) =>
    sorter.push(nodeStatusWire(opts.nodeName, relay.NodeState.NODE_ERROR, group.nodeNames, group.message)),
  );

  const release = (): void => {
    unwatch?.();
    unwatch = undefined;
    if (stats) stats.calls--;
  };

  const finish = (): void => {
    if (finished) return;
    errors.flush();
    sorter.close();
    finished = true;
    release();
    out.end();
  };

  const abandon = (): void => {
    if (finished) return;
    finished = true;
    release();
    errors.cancel();
    sorter.cancel();
    out.close();
    for (const s of streams) s.cancel();
  };
  call.on('cancelled', abandon);
  // The call can also be ended from outside (the server shutting down ends open streams OK):
  // stop reading the peers then too.
  call.on('close', abandon);
  call.on('finish', abandon);

  const md = forwardedMetadata(call.metadata);

  const open = (p: PeerView, request: observer.GetFlowsRequest): void => {
    phase.set(p.name, 'streaming');
    running++;
    if (stats) stats.peerStreams++;
    let done = false;
    const source = sorter.addSource();
    const stream: PeerFlowStream = openPeerFlows(p, request, md, {
      message(bytes) {
        if (finished) return;
        const resp = scanGetFlowsResponse(bytes);
        if (resp.kind !== undefined) source.push(resp);
      },
      status(st) {
        if (done) return;
        done = true;
        source.end();
        streams.delete(stream);
        if (stats) stats.peerStreams--;
        running--;
        if (finished) return;
        // finished is already true when the caller cancelled; any other non-OK end, a CANCELLED
        // sent by the peer included (a server shutting down hard), is a node error.
        if (st.code !== Status.OK) errors.add(p.name, statusText(st.code, st.details));
        if (phase.get(p.name) === 'streaming') phase.set(p.name, 'ended');
        if (req.follow) {
          // The connection may already be gone: look at the pool now rather than at its next change.
          rejoin();
          return;
        }
        if (running === 0) finish();
      },
    });
    if (!done) streams.add(stream);
    if (out.backedUp) stream.pause();
  };

  /** Follow mode: announce peers that became unavailable, query peers that became available. */
  const rejoin = (): void => {
    if (finished) return;
    const lost: string[] = [];
    const back: PeerView[] = [];
    for (const p of source.list()) {
      const was = phase.get(p.name);
      const canQuery = usable(p);
      if (!canQuery && (was === 'streaming' || was === 'ended')) {
        phase.set(p.name, 'unavailable');
        lost.push(p.name);
      } else if (canQuery && (was === undefined || was === 'unavailable')) {
        back.push(p);
      }
    }
    if (lost.length > 0) sorter.push(nodeStatusWire(opts.nodeName, relay.NodeState.NODE_UNAVAILABLE, lost));
    if (back.length === 0) return;
    const fresh = observer.GetFlowsRequest.fromPartial({ ...req, number: 0n, since: undefined, until: undefined, first: false });
    for (const p of back) open(p, fresh);
    sorter.push(nodeStatusWire(opts.nodeName, relay.NodeState.NODE_CONNECTED, back.map((p) => p.name)));
  };

  if (queried.length > 0) write(nodeStatusWire(opts.nodeName, relay.NodeState.NODE_CONNECTED, queried.map((p) => p.name)));
  if (unavailable.length > 0) write(nodeStatusWire(opts.nodeName, relay.NodeState.NODE_UNAVAILABLE, unavailable.map((p) => p.name)));
  for (const p of unavailable) phase.set(p.name, 'unavailable');
  if (queried.length === 0 && !req.follow) {
    finish();
    return;
  }
  for (const p of queried) open(p, req);
  if (req.follow) unwatch = source.watch(rejoin);
}
