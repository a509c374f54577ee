// The flow shape the backend streams (the backend's flow-view.ts makes it).

/** One side of a flow. */
export interface WorkloadView {
  id: string;
  namespace: string;
  name: string;
  pod: string;
}

/** One flow as the page receives it. */
export interface FlowView {
  time: number;
  node: string;
  source: WorkloadView;
  destination: WorkloadView;
  port: number;
  protocol: string;
  verdict: 'FORWARDED' | 'DROPPED' | 'ERROR' | 'AUDIT' | 'REDIRECTED' | 'UNKNOWN';
  l7: string;
  summary: string;
  reply: boolean;
}
