// Whether the L7 proxy has acknowledged an endpoint's redirect, read from this node's
// proxy_ready map (BpfMaps.GetMap): what `cilium policy trace --src-endpoint/--dst-endpoint`
// needs to say that traffic an L7 rule covers passes through the proxy, or is dropped
// (reason 165) because the proxy has not acknowledged it yet.
import { maps } from '@cilium-ts/api';
import { proxyReadyKey, proxyReadyValue } from '@cilium-ts/bpf';
import { unary } from '@cilium-ts/grpc';
import type { Direction } from '@cilium-ts/policy';
import type { AgentConnection } from '../agent-connection.js';

/** The endpoints whose redirects a trace may ask about. */
export interface TracedEndpoints {
  /** The source endpoint's id (its egress redirects). */
  src?: number;
  /** The destination endpoint's id (its ingress redirects). */
  dst?: number;
}

/**
 * Reads proxy_ready once and answers, per direction and proxy port, whether the traced
 * endpoint's redirect is acknowledged: egress for the source endpoint, ingress for the
 * destination (which also needs the device the proxy takes it on: ifindex 0 drops, as in
 * the datapath). Labels without an endpoint are never ready (fail-closed).
 */
export async function proxyReadiness(conn: AgentConnection, eps: TracedEndpoints): Promise<(direction: Direction, proxyPort: number) => boolean> {
  const res = await conn.callService(maps.BpfMapsClient, 'BpfMaps.GetMap', (c, deadline) => unary(c, 'getMap', { name: 'proxy_ready' }, { deadline }));
  const ready = new Map<string, number>();
  for (const e of res.entries) {
    const k = proxyReadyKey.decode(Buffer.from(e.key, 'hex'));
    ready.set(`${k.endpointId}/${k.proxyPort}`, proxyReadyValue.decode(Buffer.from(e.value, 'hex')).ifindex);
  }
  return (direction, proxyPort) => {
    const ep = direction === 'egress' ? eps.src : eps.dst;
    if (ep === undefined) return false;
    const ifindex = ready.get(`${ep}/${proxyPort}`);
    return ifindex !== undefined && (direction === 'egress' || ifindex !== 0);
  };
}
