import { Metadata, status as Status, type ServiceError, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import type { RawCallError } from '@cilium-ts/grpc';
import { observer, relay } from '@cilium-ts/api';
import { sortedNamespaces } from '@cilium-ts/flow';
import { relayGetFlows, type GetFlowsOptions } from './get-flows.js';
import type { PeerSource, PeerView } from './peer-manager.js';

/** RelayObserverOptions configure the relay's observer.Observer service. */
export interface RelayObserverOptions extends GetFlowsOptions {
  /** Version reported by ServerStatus (e.g. `1.11.0-cilium-ts`). */
  version: string;
  /** Deadline for each peer's ServerStatus call, in milliseconds. */
  peerStatusTimeoutMs: number;
}

/** UNAVAILABLE_NODES_LIMIT caps ServerStatus.unavailable_nodes (upstream: 10). */
export const UNAVAILABLE_NODES_LIMIT = 10;

/** PeerStatus is the outcome of asking one peer for its ServerStatus. */
export type PeerStatus =
  | { peer: PeerView; kind: 'unavailable' }
  | { peer: PeerView; kind: 'error'; error: RawCallError }
  | { peer: PeerView; kind: 'ok'; status: observer.ServerStatusResponse };

/** collectPeerStatus asks every available peer for ServerStatus in parallel, with a deadline each. */
export function collectPeerStatus(peers: PeerView[], timeoutMs: number): Promise<PeerStatus[]> {
  return Promise.all(
    peers.map(
      (p) =>
        new Promise<PeerStatus>((resolve) => {
          if (!p.available || p.unary === undefined) {
            resolve({ peer: p, kind: 'unavailable' });
            return;
          }
          p.unary(observer.ObserverService.serverStatus, observer.ServerStatusRequest.fromPartial({}), timeoutMs).then(
            (status) => resolve({ peer: p, kind: 'ok', status }),
            (error: RawCallError) => resolve({ peer: p, kind: 'error', error }),
          );
        }),
    ),
  );
}

/** aggregateServerStatus sums the peers' ServerStatus as upstream relay does. */
export function aggregateServerStatus(results: PeerStatus[], version: string): observer.ServerStatusResponse {
  let numFlows = 0n;
  let maxFlows = 0n;
  let seenFlows = 0n;
  let uptimeNs = 0n;
  const unavailable: string[] = [];
  for (const r of results) {
    if (r.kind !== 'ok') {
      unavailable.push(r.peer.name);
      continue;
    }
    numFlows += r.status.numFlows;
    maxFlows += r.status.maxFlows;
    seenFlows += r.status.seenFlows;
    if (r.status.uptimeNs > uptimeNs) uptimeNs = r.status.uptimeNs;
  }
  return observer.ServerStatusResponse.fromPartial({
    numFlows,
    maxFlows,
    seenFlows,
    uptimeNs,
    numConnectedNodes: results.length - unavailable.length,
    numUnavailableNodes: unavailable.length,
    unavailableNodes: unavailable.slice(0, UNAVAILABLE_NODES_LIMIT),
    version,
  });
}

/** nodesFromStatus builds GetNodes' answer: one Node per known peer with its state and counters. */
export function nodesFromStatus(results: PeerStatus[]): observer.GetNodesResponse {
  const nodes = results.map((r) => {
    const base = {
      name: r.peer.name,
      address: r.peer.address,
      tls: { enabled: r.peer.tls !== undefined, serverName: r.peer.tls?.serverName ?? '' },
    };
    if (r.kind === 'unavailable') return observer.Node.fromPartial({ ...base, state: relay.NodeState.NODE_UNAVAILABLE });
    if (r.kind === 'error') return observer.Node.fromPartial({ ...base, state: relay.NodeState.NODE_ERROR });
    return observer.Node.fromPartial({
      ...base,
      state: relay.NodeState.NODE_CONNECTED,
      version: r.status.version,
      uptimeNs: r.status.uptimeNs,
      numFlows: r.status.numFlows,
      maxFlows: r.status.maxFlows,
      seenFlows: r.status.seenFlows,
    });
  });
  return observer.GetNodesResponse.fromPartial({ nodes });
}

/**
 * collectNamespaces asks every available peer for GetNamespaces in parallel (a deadline each)
 * and merges the answers, sorted and without duplicates. As upstream's relay, a peer that is
 * unavailable or fails is left out (the listing is of the namespaces seen, not a guarantee).
 */
export async function collectNamespaces(peers: PeerView[], timeoutMs: number): Promise<observer.GetNamespacesResponse> {
  const lists = await Promise.all(
    peers.map(
      (p) =>
        new Promise<observer.Namespace[]>((resolve) => {
          if (!p.available || p.unary === undefined) return resolve([]);
          p.unary(observer.ObserverService.getNamespaces, observer.GetNamespacesRequest.fromPartial({}), timeoutMs).then(
            (res) => resolve(res.namespaces),
            () => resolve([]),
          );
        }),
    ),
  );
  return observer.GetNamespacesResponse.fromPartial({ namespaces: sortedNamespaces(lists.flat()) });
}

function unimplemented(method: string): ServiceError {
  // As upstream's relay (UNIMPLEMENTED); the events are served per node.
  const err = new Error(`${method} is not implemented by hubble-relay (as upstream); ask the node's hubble-server directly, e.g. --server <node address>:4244`) as ServiceError;
  err.code = Status.UNIMPLEMENTED;
  err.details = err.message;
  err.metadata = new Metadata();
  return err;
}

/** createRelayObserver returns the relay's implementation of observer.Observer over a peer pool. */
export function createRelayObserver(peers: PeerSource, opts: RelayObserverOptions): observer.ObserverServer {
  return {
    getFlows(call) {
      relayGetFlows(call, peers, opts);
    },
    getAgentEvents(call) {
      call.emit('error', unimplemented('GetAgentEvents'));
    },
    getDebugEvents(call) {
      call.emit('error', unimplemented('GetDebugEvents'));
    },
    getNodes(_call: ServerUnaryCall<observer.GetNodesRequest, observer.GetNodesResponse>, callback: sendUnaryData<observer.GetNodesResponse>) {
      collectPeerStatus(peers.list(), opts.peerStatusTimeoutMs).then((r) => callback(null, nodesFromStatus(r)), (err: Error) => callback(err));
    },
    getNamespaces(_call, callback) {
      collectNamespaces(peers.list(), opts.peerStatusTimeoutMs).then((r) => callback(null, r), (err: Error) => callback(err));
    },
    serverStatus(_call, callback) {
      collectPeerStatus(peers.list(), opts.peerStatusTimeoutMs).then(
        (r) => callback(null, aggregateServerStatus(r, opts.version)),
        (err: Error) => callback(err),
      );
    },
  };
}
