// The rows of "lab check": an expected connection, planned between two nodes, and its probed result.

/** One expected connection of the demo: from a pod (or, `from: 'node'`, the node's own namespace) to a pod. */
export interface CheckCase {
  from: string;
  to: string;
  /** TCP port of an HTTP GET; 0 with proto icmp. */
  port: number;
  /** tcp (HTTP GET, the default) or icmp (one echo request). */
  proto?: 'tcp' | 'icmp';
  /**
   * An L7 case: the GET's path. Allowed means a 2xx answer, denied the L7 proxy's
   * 403 "Access denied" (a drop or any other answer is neither).
   */
  path?: string;
  expect: 'allowed' | 'denied';
}

/** A case between two nodes (equal for the same-node cases) over one address family. */
export interface PlannedCheck extends CheckCase {
  srcNode: number;
  dstNode: number;
  family: 4 | 6;
}

/** One probed cell. */
export interface CheckResult extends PlannedCheck {
  target: string;
  got: 'allowed' | 'denied';
  /** True when an HTTP answer came back (the reply path works). */
  reply: boolean;
  detail: string;
  ok: boolean;
}
