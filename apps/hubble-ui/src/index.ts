// Hubble UI backend, for tests, the lab and benchmarks.
export { FlowBatcher, type FlowBatcherOptions } from './flow-batcher.js';
export { checkNamespace, flowFilters, flowsRequest, parseFlowQuery, QueryError, type FlowQuery } from './flow-query.js';
export { toFlowView, workloadOf, type FlowView, type WorkloadView } from './flow-view.js';
export { RelayFeed, type RelayState } from './relay-feed.js';
export { startUiServer, type RunningUiServer, type UiServerOptions } from './ui-server.js';
