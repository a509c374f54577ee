// @cilium-ts/hubble-relay: the cluster-wide Hubble API. Discovers hubble-servers through
// peer.Peer, keeps a connection pool with backoff and serves observer.Observer over all nodes.
export { Backoff, type BackoffOptions } from './backoff.js';
export { DEFAULT_HUBBLE_PORT, InvalidPeerAddressError, toDialTarget, toListenTarget } from './peer-address.js';
export { FlowSorter, sortBufferCapacity, type FlowSorterOptions, type SortSource } from './flow-sorter.js';
export { relayGetFlows, nodeStatusResponse, type GetFlowsOptions, type RelayFlowStats } from './get-flows.js';
export { PeerManager, type PeerManagerOptions, type PeerSource, type PeerView } from './peer-manager.js';
export { PeerConnection, type PeerSpec, type PeerTLS, type PeerTlsMaterial } from './peer-connection.js';
export { peerUnary, type PeerCallTarget } from './peer-unary.js';
export {
  aggregateServerStatus,
  collectPeerStatus,
  createRelayObserver,
  nodesFromStatus,
  type RelayObserverOptions,
} from './relay-observer.js';
export { RELAY_VERSION, HEALTH_SERVICES, startRelay, type Relay, type RelayOptions } from './relay.js';
