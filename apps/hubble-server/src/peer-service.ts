// peer.Peer Notify: the list of hubble-servers in the cluster (this node included), first
// as one PEER_ADDED per node, then changes as they happen.
import { EventEmitter } from 'node:events';
import type { ServerWritableStream } from '@grpc/grpc-js';
import { peer } from '@cilium-ts/api';
import { GrpcStatusError } from '@cilium-ts/grpc';
import { status } from '@grpc/grpc-js';
import { callSignal } from './stream-pump.js';

/** One hubble-server as peers see it. */
export interface PeerNode {
  /** `node`, or `cluster/node` outside the `default` cluster. */
  name: string;
  /** Hubble gRPC address (`ip:port`, `ip`, or `unix:///path`); empty when unknown. */
  address: string;
}

/**
 * The TLS server name upstream gives a node's Hubble server:
 * `<node>.<cluster>.hubble-grpc.cilium.io`, dots in node and cluster replaced by `-`.
 */
export function hubbleServerName(peer: string): string {
  const slash = peer.indexOf('/');
  const cluster = slash >= 0 ? peer.slice(0, slash) : 'default';
  const node = slash >= 0 ? peer.slice(slash + 1) : peer;
  return `${node.replace(/\./g, '-')}.${(cluster || 'default').replace(/\./g, '-')}.hubble-grpc.cilium.io`;
}

/** Options of PeerList. */
export interface PeerListOptions {
  /** Announce every peer as reachable over TLS (tls.server_name = hubbleServerName), as upstream does when Hubble TLS is on. */
  tls?: boolean;
}

/** The peer name of a node: `node` in the default cluster, `cluster/node` otherwise. */
export function peerName(cluster: string, node: string): string {
  return cluster === '' || cluster === 'default' ? node : `${cluster}/${node}`;
}

/** The known peers, emitting `change` with a ChangeNotification for every difference. */
export class PeerList extends EventEmitter<{ change: [peer.ChangeNotification] }> {
  private readonly nodes = new Map<string, PeerNode>();

  constructor(private readonly options: PeerListOptions = {}) {
    super();
  }

  /** The notification announcing `node` with `type`. */
  notification(node: PeerNode, type: peer.ChangeNotificationType): peer.ChangeNotification {
    return peer.ChangeNotification.fromPartial({
      name: node.name,
      address: node.address,
      type,
      tls: this.options.tls ? { serverName: hubbleServerName(node.name) } : undefined,
    });
  }

  /** Adds or updates a node (PEER_ADDED / PEER_UPDATED when its address changed). */
  upsert(node: PeerNode): void {
    const old = this.nodes.get(node.name);
    if (old && old.address === node.address) return;
    this.nodes.set(node.name, { ...node });
    const type = old ? peer.ChangeNotificationType.PEER_UPDATED : peer.ChangeNotificationType.PEER_ADDED;
    this.emit('change', this.notification(node, type));
  }

  /** Removes a node (PEER_DELETED). */
  delete(name: string): void {
    const old = this.nodes.get(name);
    if (!old) return;
    this.nodes.delete(name);
    this.emit('change', this.notification(old, peer.ChangeNotificationType.PEER_DELETED));
  }

  /** Every known node, sorted by name. */
  list(): PeerNode[] {
    return [...this.nodes.values()].sort((a, b) => a.name.localeCompare(b.name));
  }
}

/** Largest number of notifications queued for a slow client before its stream is ended. */
export const PEER_SEND_BUFFER = 1024;

/** Implementation of peer.PeerServer over a PeerList. */
export function peerHandlers(peers: PeerList, shutdown?: AbortSignal): peer.PeerServer {
  return {
    notify(call: ServerWritableStream<peer.NotifyRequest, peer.ChangeNotification>) {
      const ac = callSignal(call as ServerWritableStream<unknown, unknown>, shutdown);
      const send = (n: peer.ChangeNotification) => {
        if (ac.signal.aborted || call.writableEnded) return;
        if (call.writableLength > PEER_SEND_BUFFER * 256) {
          ac.abort();
          call.emit('error', new GrpcStatusError(status.RESOURCE_EXHAUSTED, 'peer notifications: the client reads too slowly; reconnect and read faster'));
          return;
        }
        call.write(n);
      };
      for (const node of peers.list()) {
        send(peers.notification(node, peer.ChangeNotificationType.PEER_ADDED));
      }
      peers.on('change', send);
      ac.signal.addEventListener('abort', () => {
        peers.off('change', send);
        if (shutdown?.aborted && !call.writableEnded) call.end();
      }, { once: true });
    },
  };
}
