// The L7 policy the proxy enforces: built from one PolicyUpdate (validated whole, with
// the path of every problem), looked up per request by endpoint address, port and peer.
import { isIP } from 'node:net';
import { proxy as api } from '@cilium-ts/api';
import { InvalidArgumentError } from '@cilium-ts/grpc';
import { IssueCollector, joinPath, proxyListener, validateL7Rules, type Direction, type L7Rules } from '@cilium-ts/policy';

/** What one peer may do on one redirected port. */
export interface PeerRules {
  /** Every request passes (an allow without L7 rules for this peer). */
  allowAll: boolean;
  rules: L7Rules;
}

/** The L7 policy of one endpoint on one (direction, port). */
export interface PortRules {
  endpointId: number;
  /** The endpoint's own identity. */
  identity: number;
  direction: Direction;
  port: number;
  proxyPort: number;
  /** By peer identity; a peer without an entry is denied. */
  peers: ReadonlyMap<number, PeerRules>;
}

/** An immutable, validated L7 policy of the node at one revision. */
export class PolicyTable {
  /** `${direction}/${address}/${port}` -> rules. */
  private readonly byKey = new Map<string, PortRules>();

  private constructor(
    /** The revision of the update this table was built from (0: empty). */
    readonly revision: bigint,
    /** The endpoints the update contained. */
    readonly endpointIds: readonly number[],
  ) {}

  /** The empty table (everything is denied) at revision 0. */
  static empty(): PolicyTable {
    return new PolicyTable(0n, []);
  }

  /**
   * Builds the table of `update`. Throws InvalidArgumentError naming every problem with
   * its path (endpoints[i].ports[j].peers[k].http[l].path: ...) and builds nothing then.
   */
  static fromUpdate(update: api.PolicyUpdate): PolicyTable {
    const issues = new IssueCollector();
    const table = new PolicyTable(update.revision, update.endpoints.map((e) => e.endpointId));
    const seenEndpoints = new Set<number>();
    update.endpoints.forEach((ep, i) => {
      const ePath = joinPath('endpoints', i);
      if (!Number.isInteger(ep.endpointId) || ep.endpointId < 1 || ep.endpointId > 0xffff) issues.add(joinPath(ePath, 'endpointId'), `${ep.endpointId} is not an endpoint id (1..65535)`);
      else if (seenEndpoints.has(ep.endpointId)) issues.add(joinPath(ePath, 'endpointId'), `endpoint ${ep.endpointId} appears twice; send each endpoint once`);
      seenEndpoints.add(ep.endpointId);
      if (ep.addresses.length === 0) issues.add(joinPath(ePath, 'addresses'), 'must list the endpoint\'s addresses');
      ep.addresses.forEach((a, k) => {
        if (isIP(a) === 0) issues.add(joinPath(joinPath(ePath, 'addresses'), k), `${JSON.stringify(a)} is not an IP address`);
      });
      ep.ports.forEach((pp, j) => {
        const pPath = joinPath(joinPath(ePath, 'ports'), j);
        const direction = pp.direction === api.TrafficDirection.INGRESS ? 'ingress' : pp.direction === api.TrafficDirection.EGRESS ? 'egress' : undefined;
        if (!direction) issues.add(joinPath(pPath, 'direction'), 'must be INGRESS or EGRESS');
        if (!Number.isInteger(pp.port) || pp.port < 1 || pp.port > 0xffff) issues.add(joinPath(pPath, 'port'), `${pp.port} is not a port (1..65535)`);
        const listener = proxyListener(pp.proxyPort);
        if (!listener) issues.add(joinPath(pPath, 'proxyPort'), `${pp.proxyPort} is not a proxy listener port (10001..10006)`);
        else if (direction && listener.direction !== direction) issues.add(joinPath(pPath, 'proxyPort'), `${pp.proxyPort} is the ${listener.direction} ${listener.parser} listener, not an ${direction} one`);
        const peers = new Map<number, PeerRules>();
        pp.peers.forEach((peer, k) => {
          const peerPath = joinPath(joinPath(pPath, 'peers'), k);
          if (peers.has(peer.identity)) issues.add(joinPath(peerPath, 'identity'), `identity ${peer.identity} appears twice on this port`);
          const raw: Record<string, unknown> = {};
          if (peer.http.length > 0) raw.http = peer.http.map(httpRuleObject);
          if (peer.dns.length > 0) raw.dns = peer.dns.map(dnsRuleObject);
          let rules: L7Rules = {};
          if (Object.keys(raw).length > 0) rules = validateL7Rules(raw, peerPath, issues) ?? {};
          else if (!peer.allowAll) issues.add(peerPath, 'has no rules and is not allowAll; leave the peer out to deny it');
          if (listener && rules.http && listener.parser !== 'http') issues.add(joinPath(peerPath, 'http'), `the ${listener.parser} listener ${pp.proxyPort} takes no http rules`);
          if (listener && rules.dns && listener.parser !== 'dns') issues.add(joinPath(peerPath, 'dns'), `the ${listener.parser} listener ${pp.proxyPort} takes no dns rules`);
          peers.set(peer.identity, { allowAll: peer.allowAll, rules });
        });
        if (!direction) return;
        const rules: PortRules = { endpointId: ep.endpointId, identity: ep.identity, direction, port: pp.port, proxyPort: pp.proxyPort, peers };
        for (const a of ep.addresses) {
          const key = tableKey(direction, a, pp.port);
          if (table.byKey.has(key)) issues.add(pPath, `${direction} port ${pp.port} of ${a} appears twice`);
          table.byKey.set(key, rules);
        }
      });
    });
    if (issues.count > 0) {
      throw new InvalidArgumentError(`policy update ${update.revision} rejected: ${issues.issues.map((e) => `${e.path}: ${e.message}`).join('; ')}`, { field: issues.issues[0]!.path });
    }
    return table;
  }

  /**
   * The rules for traffic of `endpointAddress` (the original destination for ingress, the
   * source for egress) on `port` (the original destination port), or undefined.
   */
  lookup(direction: Direction, endpointAddress: string, port: number): PortRules | undefined {
    return this.byKey.get(tableKey(direction, endpointAddress, port));
  }
}

function tableKey(direction: Direction, address: string, port: number): string {
  return `${direction}/${normalizeAddress(address)}/${port}`;
}

/** Strips the IPv4-mapped IPv6 prefix a dual-stack socket reports (::ffff:10.0.0.1). */
export function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

function httpRuleObject(r: api.HTTPRule): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (r.method !== '') o.method = r.method;
  if (r.path !== '') o.path = r.path;
  if (r.host !== '') o.host = r.host;
  if (r.headers.length > 0) o.headers = r.headers;
  return o;
}

function dnsRuleObject(r: api.DNSRule): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (r.matchName !== '') o.matchName = r.matchName;
  if (r.matchPattern !== '') o.matchPattern = r.matchPattern;
  return o;
}
