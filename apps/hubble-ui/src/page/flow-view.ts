// The flow shape the backend streams (the backend's flow-view.ts makes it); declared once,
// here, for the page and the backend.

/** WorkloadView names one side of a flow: a workload (namespace + app label or pod), or an address. */
export interface WorkloadView {
  /** Map node id: `ns/app` for a workload, `reserved:world` / `ip:10.0.0.1` otherwise. */
  id: string;
  namespace: string;
  /** The app label, the pod name, the reserved identity name, or the IP. */
  name: string;
  pod: string;
}

/** FlowView is one flow as the page receives it. */
export interface FlowView {
  /** Milliseconds since the epoch. */
  time: number;
  node: string;
  source: WorkloadView;
  destination: WorkloadView;
  /** Destination port (0 for ICMP). */
  port: number;
  /** tcp, udp, sctp, icmpv4, icmpv6 or '' */
  protocol: string;
  verdict: 'FORWARDED' | 'DROPPED' | 'ERROR' | 'AUDIT' | 'REDIRECTED' | 'UNKNOWN';
  /** http, dns, kafka when the flow is an L7 record, else ''. */
  l7: string;
  /** A short text: the L7 request/response, the drop reason, or the TCP flags. */
  summary: string;
  reply: boolean;
}
