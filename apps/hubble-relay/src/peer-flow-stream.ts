// One peer's GetFlows stream as the merge sees it: raw message bytes handed to a sink, plus
// pause/resume/cancel. Peers are read with RawClientStream on the one HTTP/2 connection the
// relay keeps to each (PeerConnection.rawChannel; frames parsed in batches); peers that
// announced TLS when the relay has no PEM material for raw TLS (only grpc-js credentials) go
// through their grpc-js client, one message at a time.
import { status as Status, type ClientReadableStream, type Metadata } from '@grpc/grpc-js';
import { observer } from '@cilium-ts/api';
import type { PeerView } from './peer-manager.js';
import { RawClientStream, type RawStatus, type RawStreamSink } from '@cilium-ts/grpc';

/** A peer's GetFlows call in progress. */
export interface PeerFlowStream {
  /** Stops reading (the peer is held back by flow control). */
  pause(): void;
  /** Reads on after pause(). */
  resume(): void;
  /** Ends the call; the sink hears CANCELLED. */
  cancel(): void;
}

const getFlowsDef = observer.ObserverService.getFlows;

/** Adapts a grpc-js call whose deserializer yields the raw bytes. */
class GrpcPeerFlowStream implements PeerFlowStream {
  private readonly call: ClientReadableStream<Buffer>;

  constructor(client: observer.ObserverClient, req: observer.GetFlowsRequest, md: Metadata, sink: RawStreamSink) {
    this.call = client.makeServerStreamRequest(getFlowsDef.path, getFlowsDef.requestSerialize, (b: Buffer) => b, req, md, {});
    let st: RawStatus | undefined;
    let ended = false;
    let done = false;
    const maybeDone = (): void => {
      if (done || st === undefined || (st.code === Status.OK && !ended)) return;
      done = true;
      sink.status(st);
    };
    this.call.on('data', (bytes: Buffer) => {
      if (done) return;
      try {
        sink.message(bytes);
      } catch (err) {
        st = { code: Status.INTERNAL, details: `cannot read a message from the peer: ${(err as Error).message}` };
        this.call.cancel();
        maybeDone();
        return;
      }
    });
    this.call.on('end', () => {
      ended = true;
      maybeDone();
    });
    this.call.on('error', () => {
      // Reported through 'status'.
    });
    this.call.on('status', (s: { code: number; details: string }) => {
      st ??= { code: s.code, details: s.details };
      maybeDone();
    });
  }

  pause(): void {
    this.call.pause();
  }

  resume(): void {
    this.call.resume();
  }

  cancel(): void {
    this.call.cancel();
  }
}

/**
 * openPeerFlows calls GetFlows on a peer with `req` and the forwarded metadata `md`, feeding
 * `sink`, on the peer's connection: raw when it has a RawChannel, through its grpc-js client
 * otherwise. A peer with neither (no usable address, or removed) ends the call UNAVAILABLE.
 */
export function openPeerFlows(peer: PeerView, req: observer.GetFlowsRequest, md: Metadata, sink: RawStreamSink): PeerFlowStream {
  if (peer.client === undefined) {
    const headers = md.toHttp2Headers() as Record<string, string | string[]>;
    try {
      if (peer.rawChannel === undefined) throw new Error('the relay has no connection to it');
      return new RawClientStream({ target: peer.address, path: getFlowsDef.path, request: observer.GetFlowsRequest.encode(req).finish(), headers, channel: peer.rawChannel }, sink);
    } catch (err) {
      // A target the raw reader cannot dial (e.g. a relative unix socket path): the call
      // fails like an unreachable peer, after the caller has the stream in hand.
      const details = `cannot call GetFlows on ${peer.address}: ${(err as Error).message}`;
      let cancelled = false;
      queueMicrotask(() => sink.status(cancelled ? { code: Status.CANCELLED, details: 'Cancelled on client' } : { code: Status.UNAVAILABLE, details }));
      return { pause: () => undefined, resume: () => undefined, cancel: () => (cancelled = true) };
    }
  }
  return new GrpcPeerFlowStream(peer.client, req, md, sink);
}
