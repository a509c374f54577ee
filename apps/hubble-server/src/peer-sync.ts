// The peer list from the agent: the cluster's nodes arrive on the agent's Metadata.Watch
// stream (a snapshot of UPSERTs, SYNCED, then changes), so hubble-server needs no kvstore
// connection of its own. A reconnected stream's snapshot replaces the list: peers it no
// longer names are deleted at SYNCED, the others are kept without a notification.
import { agent } from '@cilium-ts/api';
import { peerName, type PeerList, type PeerNode } from './peer-service.js';

/** Follows the node events of the agent's Metadata stream into a PeerList. */
export class AgentPeerSync {
  /** Peers named by the current stream's snapshot, until its SYNCED. */
  private snapshot?: Set<string>;

  constructor(
    private readonly peers: PeerList,
    /** This hubble-server; never deleted (a node whose registration is away stays listed). */
    private readonly self: PeerNode,
  ) {}

  /** A new stream starts: its snapshot will replace the list. */
  reset(): void {
    this.snapshot = new Set([this.self.name]);
  }

  /** Applies one Metadata event (events without a node are ignored, except SYNCED). */
  apply(event: agent.MetadataEvent): void {
    if (event.kind === agent.MetadataEvent_Kind.SYNCED) {
      const keep = this.snapshot;
      this.snapshot = undefined;
      if (keep) for (const p of this.peers.list()) if (!keep.has(p.name)) this.peers.delete(p.name);
      return;
    }
    const node = event.node;
    if (!node) return;
    const name = peerName(node.cluster, node.name);
    if (event.kind === agent.MetadataEvent_Kind.DELETE) {
      if (name === this.self.name) this.peers.upsert(this.self);
      else this.peers.delete(name);
      return;
    }
    this.snapshot?.add(name);
    // This server's own registration without an address (an agent started without
    // --hubble-address) keeps the address the server serves on: a relay would drop a peer
    // that announces none.
    if (name === this.self.name && node.hubbleAddress === '') this.peers.upsert(this.self);
    else this.peers.upsert({ name, address: node.hubbleAddress });
  }
}
