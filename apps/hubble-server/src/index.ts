// @cilium-ts/hubble-server as a library: start a per-node hubble-server in-process.
export { AgentSubscriber, type AgentSubscriberHandlers, type AgentSubscriberOptions } from './agent-subscriber.js';
export { DEFAULT_METRICS, FlowMetrics, METRIC_HANDLERS } from './metrics/registry.js';
export { MetricSpecError, parseMetricSpecs, type MetricSpec } from './metrics/metric-spec.js';
export { HUBBLE_SERVER_VERSION, startHubbleServer, type HubbleServerOptions, type RunningHubbleServer } from './hubble-server.js';
export { MetadataCache } from './metadata-cache.js';
export { ObserverService, type ObserverState } from './observer-service.js';
export { hubbleServerName, PEER_SEND_BUFFER, peerHandlers, PeerList, peerName, type PeerListOptions, type PeerNode } from './peer-service.js';
