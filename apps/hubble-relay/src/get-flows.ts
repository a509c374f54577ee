import { Metadata, status as Status, type ClientReadableStream, type ServerWritableStream } from '@grpc/grpc-js';
import { observer, relay } from '@cilium-ts/api';
import { ErrorAggregator } from './error-aggregator.js';
import { FlowSorter, sortBufferCapacity } from './flow-sorter.js';
import { statusText } from './grpc-status-text.js';
import type { PeerView } from './peer-manager.js';
import { timeFromMs } from './timestamps.js';

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

/**
 * relayGetFlows serves one GetFlows call: it forwards the identical request to every available
 * peer, announces NODE_CONNECTED / NODE_UNAVAILABLE, merges the peer streams by time through a
 * bounded sort buffer, turns failed peer streams into NODE_ERROR events, honours the caller's
 * back-pressure by pausing the peer streams, ends OK when every peer stream has ended, and
 * cancels the peer streams when the caller goes away.
 */
export function relayGetFlows(
  call: ServerWritableStream<observer.GetFlowsRequest, observer.GetFlowsResponse>,
  peers: PeerView[],
  opts: GetFlowsOptions,
): void {
  const req = call.request;
  const queried = peers.filter((p) => p.available && p.client !== undefined);
  const unavailable = peers.filter((p) => !(p.available && p.client !== undefined));
  const streams: ClientReadableStream<observer.GetFlowsResponse>[] = [];
  let finished = false;
  let paused = false;
  let running = queried.length;

  const write = (resp: observer.GetFlowsResponse): void => {
    if (finished) return;
    if (!call.write(resp) && !paused) {
      paused = true;
      for (const s of streams) s.pause();
      call.once('drain', () => {
        paused = false;
        if (!finished) for (const s of streams) s.resume();
      });
    }
  };

  const sorter = new FlowSorter(
    { capacity: sortBufferCapacity(opts.sortBufferLenMax, req.number, queried.length), drainTimeoutMs: opts.sortBufferDrainTimeoutMs },
    write,
  );
  const errors = new ErrorAggregator(opts.errorAggregationWindowMs, (group) =>
    sorter.push(nodeStatusResponse(opts.nodeName, relay.NodeState.NODE_ERROR, group.nodeNames, group.message)),
  );

  const finish = (): void => {
    if (finished) return;
    errors.flush();
    sorter.close();
    finished = true;
    call.end();
  };

  call.on('cancelled', () => {
    if (finished) return;
    finished = true;
    errors.cancel();
    sorter.cancel();
    for (const s of streams) s.cancel();
  });

  if (queried.length > 0) write(nodeStatusResponse(opts.nodeName, relay.NodeState.NODE_CONNECTED, queried.map((p) => p.name)));
  if (unavailable.length > 0) write(nodeStatusResponse(opts.nodeName, relay.NodeState.NODE_UNAVAILABLE, unavailable.map((p) => p.name)));
  if (queried.length === 0) {
    finish();
    return;
  }

  const md = forwardedMetadata(call.metadata);
  for (const p of queried) {
    const stream = (p.client as observer.ObserverClient).getFlows(req, md);
    streams.push(stream);
    if (paused) stream.pause();
    let gotStatus: { code: number; details: string } | undefined;
    let ended = false;
    let done = false;
    const maybeDone = (): void => {
      if (done || gotStatus === undefined) return;
      if (gotStatus.code === Status.OK && !ended) return;
      done = true;
      if (finished) return;
      // finished is already true when the caller cancelled; any other non-OK end, a CANCELLED
      // sent by the peer included (a server shutting down hard), is a node error.
      if (gotStatus.code !== Status.OK) errors.add(p.name, statusText(gotStatus.code, gotStatus.details));
      running--;
      if (running === 0) finish();
    };
    stream.on('data', (resp: observer.GetFlowsResponse) => {
      if (finished) return;
      if (resp.flow === undefined && resp.nodeStatus === undefined && resp.lostEvents === undefined) return;
      sorter.push(resp);
    });
    stream.on('end', () => {
      ended = true;
      maybeDone();
    });
    stream.on('error', () => {
      // Reported through 'status'.
    });
    stream.on('status', (s: { code: number; details: string }) => {
      gotStatus = s;
      maybeDone();
    });
  }
}
