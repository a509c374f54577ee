// What the proxy's listeners (HTTP/1.1, h2c, DNS) know of one redirected connection: where
// it came from and goes, the peer's L7 policy on the port and the upstream to use; and the
// access records they report (to the agent and, through it, Hubble).
import type net from 'node:net';
import type { Direction, L7Policy } from '@cilium-ts/policy';

/** Where a connection came from and goes, and what its peer may do. */
export interface ConnectionContext {
  endpointId: number;
  direction: Direction;
  source: { address: string; port: number; identity: number };
  destination: { address: string; port: number; identity: number };
  /** The peer's L7 policy on this port (undefined: the peer is not allowed at all). */
  policy: Pick<L7Policy, 'allowAll' | 'rules'> | undefined;
  /** Where allowed requests go and the socket mark of that connection. */
  upstream: { address: string; port: number; mark?: number };
}

/** Resolves a downstream socket to its context; undefined closes the connection (fail closed). */
export type ContextResolver = (socket: net.Socket) => ConnectionContext | undefined;

/** One access record (request, or response with latency). */
export interface AccessRecord {
  time: Date;
  type: 'request' | 'response';
  verdict: 'forwarded' | 'denied' | 'error';
  context: ConnectionContext;
  method: string;
  url: string;
  protocol: string;
  /** Response status (0 for requests). */
  code: number;
  headers: Array<[string, string]>;
  latencyNs: bigint;
}

/** Counters of one listener. */
export interface HttpListenerCounters {
  forwarded: number;
  denied: number;
  rejected: number;
}
