// The L7 policy the node's proxy enforces, built from the endpoints' policy handles: per
// endpoint and redirected (direction, port), the rules of every peer identity that has a
// redirect entry there, plus an "any peer" entry (identity 0) for rules without peers
// (no fromEndpoints / toEndpoints), in the shape of cilium.proxy.v1's PolicyUpdate.
import { proxy as api } from '@cilium-ts/api';
import { proxyListener, type EndpointPolicyHandle, type L7Policy, type PolicyEntry } from '@cilium-ts/policy';

/** What the builder needs of one endpoint. */
export interface L7Endpoint {
  id: number;
  identity: number;
  ipv4: string;
  ipv6?: string;
  /** The endpoint's live policy handle (EndpointPolicyHandle.l7Policy). */
  handle: Pick<EndpointPolicyHandle, 'entries' | 'l7Policy'>;
}

/** Listener parsers the proxy serves (kafka redirects stay fail-closed: no listener takes them). */
const servedParsers = new Set(['http', 'dns']);

/** Most ports one redirect range expands to (the datapath expands ranges the same way). */
const MaxRangePorts = 16384;

/**
 * The proxy's view of `endpoints`: only endpoints with at least one served redirect,
 * ordered by endpoint id, ports by (direction, port), peers by identity (0, "any peer",
 * first), so equal policies give equal updates.
 */
export function buildL7Endpoints(endpoints: readonly L7Endpoint[]): api.EndpointPolicy[] {
  const out: api.EndpointPolicy[] = [];
  for (const ep of [...endpoints].sort((a, b) => a.id - b.id)) {
    const ports = new Map<string, { direction: 'ingress' | 'egress'; port: number; proxyPort: number; protocol: number; peers: Set<number> }>();
    for (const e of ep.handle.entries()) {
      if (e.deny || e.proxyPort === undefined) continue;
      const listener = proxyListener(e.proxyPort);
      if (!listener || !servedParsers.has(listener.parser) || e.port === 0) continue;
      for (const port of rangePorts(e)) {
        const k = `${e.direction}/${port}`;
        let p = ports.get(k);
        if (!p) ports.set(k, (p = { direction: e.direction, port, proxyPort: e.proxyPort, protocol: e.protocol, peers: new Set() }));
        p.peers.add(e.identity);
      }
    }
    const portPolicies: api.PortPolicy[] = [];
    for (const p of [...ports.values()].sort((a, b) => (a.direction === b.direction ? a.port - b.port : a.direction === 'ingress' ? -1 : 1))) {
      const peers: api.PeerPolicy[] = [];
      for (const identity of [...p.peers].sort((a, b) => a - b)) {
        const l7 = ep.handle.l7Policy(p.direction, identity, p.protocol, p.port);
        // Another entry won for this peer (a deny, or a redirect to another listener): not ours.
        if (!l7 || l7.proxyPort !== p.proxyPort) continue;
        const peer = peerPolicy(identity, l7);
        if (peer) peers.push(peer);
      }
      if (peers.length === 0) continue;
      portPolicies.push(
        api.PortPolicy.fromPartial({
          direction: p.direction === 'ingress' ? api.TrafficDirection.INGRESS : api.TrafficDirection.EGRESS,
          port: p.port,
          proxyPort: p.proxyPort,
          peers,
        }),
      );
    }
    if (portPolicies.length === 0) continue;
    out.push(api.EndpointPolicy.fromPartial({ endpointId: ep.id, identity: ep.identity, addresses: ep.ipv6 ? [ep.ipv4, ep.ipv6] : [ep.ipv4], ports: portPolicies }));
  }
  return out;
}

function rangePorts(e: PolicyEntry): number[] {
  const end = Math.min(e.endPort ?? e.port, e.port + MaxRangePorts - 1);
  const out: number[] = [];
  for (let p = e.port; p <= end; p++) out.push(p);
  return out;
}

/** One peer's entry; undefined when it would allow nothing (no served rules and not allowAll). */
function peerPolicy(identity: number, l7: L7Policy): api.PeerPolicy | undefined {
  const http = (l7.rules.http ?? []).map((r) => api.HTTPRule.fromPartial({ method: r.method ?? '', path: r.path ?? '', host: r.host ?? '', headers: r.headers ?? [] }));
  const dns = (l7.rules.dns ?? []).map((r) => api.DNSRule.fromPartial({ matchName: r.matchName ?? '', matchPattern: r.matchPattern ?? '' }));
  if (!l7.allowAll && http.length === 0 && dns.length === 0) return undefined;
  return api.PeerPolicy.fromPartial({ identity, allowAll: l7.allowAll, http: l7.allowAll ? [] : http, dns: l7.allowAll ? [] : dns });
}
