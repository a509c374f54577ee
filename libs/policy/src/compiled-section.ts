// A rule section compiled for evaluation: which peers it selects and which ports it opens.

import { FQDNPeerSelector } from './fqdn-selector.js';
import { icmpTypeNumber } from './icmp.js';
import { type L7Rules, l7Parser } from './l7.js';
import { proxyPortFor } from './proxy-port.js';
import type { LabelSet } from './label-set.js';
import { CIDRPeerSelector, EndpointPeerSelector, EntityPeerSelector, type PeerSelector } from './peer-selector.js';
import { isNamedPort } from './port.js';
import { AnyExpandsTo, Protocol, protocolName } from './protocol.js';
import { type Direction, type Rule, type RuleSection, ruleSections } from './rule.js';
import { Selector } from './selector.js';

/** One port / protocol an entry opens: protocol 0 = any, port 0 = any, endPort for ranges; L7 rules redirect to a proxy port. */
export interface PortSpec {
  protocol: number;
  port: number;
  endPort?: number;
  /** The proxy listener port when the port rule has L7 rules. */
  proxyPort?: number;
  /** The L7 rules the proxy enforces on it. */
  l7?: L7Rules;
}

function portSpecMatches(p: PortSpec, protocol: number, port: number): boolean {
  return (p.protocol === 0 || p.protocol === protocol) && (p.port === 0 || (port >= p.port && port <= (p.endPort ?? p.port)));
}

/** Named ports of the endpoint the policy is computed for (name -> port number). */
export type NamedPorts = Readonly<Record<string, number>>;

/**
 * Named ports for egress rules (name -> port numbers): egress named ports belong to the
 * destinations, so, as in Cilium, they resolve to every number the name has on any
 * endpoint known in the cluster.
 */
export type EgressNamedPorts = Readonly<Record<string, readonly number[]>>;

/** A rule section ready to match peers and packets. */
export class CompiledSection {
  /** True when the section selects every peer (emitted as identity 0). */
  readonly wildcard: boolean;
  /** The ports the section opens (empty: opens nothing). */
  readonly ports: PortSpec[];
  /** Named ports that could not be resolved (ignored, reported by trace). */
  readonly unresolvedPorts: string[] = [];
  /** The peer selectors (endpoint selectors, entities, CIDRs); the section selects their union. */
  readonly peers: PeerSelector[];
  private readonly selectors: Selector[];
  private readonly cidrs: CIDRPeerSelector[];
  private readonly fqdns: FQDNPeerSelector[];

  /** Compiles `section` (of rule number `ruleIndex`) for `direction`; `deny` marks a deny section. */
  constructor(
    readonly rule: Rule,
    readonly ruleIndex: number,
    readonly direction: Direction,
    readonly deny: boolean,
    readonly section: RuleSection,
    namedPorts: NamedPorts = {},
    egressNamedPorts: EgressNamedPorts = {},
  ) {
    this.selectors = (section.endpoints ?? []).map((s) => new Selector(s));
    this.cidrs = (section.cidrs ?? []).map((c) => CIDRPeerSelector.from(c.cidr, c.except ?? []));
    this.fqdns = (section.fqdns ?? []).map((f) => new FQDNPeerSelector(f));
    this.peers = [
      ...this.selectors.map((s) => new EndpointPeerSelector(s)),
      ...(section.entities ?? []).map((e) => new EntityPeerSelector(e)),
      ...this.cidrs,
      ...this.fqdns,
    ];
    const hasPeers = this.selectors.length > 0 || (section.entities?.length ?? 0) > 0 || this.cidrs.length > 0 || this.fqdns.length > 0;
    const hasL4 = (section.toPorts?.length ?? 0) > 0 || (section.icmps?.length ?? 0) > 0;
    // As in Cilium: an L4-only section (ports, no peers) applies to every peer; a section
    // with neither selects nothing.
    this.wildcard =
      this.selectors.some((s) => s.isWildcard) || (section.entities ?? []).includes('all') || (!hasPeers && hasL4);
    this.ports = hasPeers || hasL4 ? this.compilePorts(section, direction, namedPorts, egressNamedPorts) : [];
  }

  private compilePorts(section: RuleSection, direction: Direction, namedPorts: NamedPorts, egressNamedPorts: EgressNamedPorts): PortSpec[] {
    const out: PortSpec[] = [];
    if (!section.toPorts?.length && !section.icmps?.length) return [{ protocol: 0, port: 0 }];
    for (const pr of section.toPorts ?? []) {
      const ports = pr.ports?.length ? pr.ports : [{}];
      const l7 = pr.rules;
      const proxyPort = l7 ? proxyPortFor(direction, l7Parser(l7)) : undefined;
      // HTTP and Kafka run over TCP, DNS over UDP and TCP: ANY opens only those under L7 rules.
      const anyProtos = !l7 ? AnyExpandsTo : l7.dns ? [Protocol.TCP, Protocol.UDP] : [Protocol.TCP];
      for (const pp of ports) {
        const protos = pp.protocol === undefined || pp.protocol === 'ANY' ? anyProtos : [Protocol[pp.protocol]];
        let numbers = [0];
        if (pp.port !== undefined) {
          if (isNamedPort(pp.port)) {
            const ingressPort = namedPorts[pp.port];
            const resolved = direction === 'ingress' ? (ingressPort !== undefined ? [ingressPort] : []) : [...new Set(egressNamedPorts[pp.port] ?? [])].sort((a, b) => a - b);
            if (resolved.length === 0) {
              this.unresolvedPorts.push(pp.port);
              continue;
            }
            numbers = resolved;
          } else numbers = [Number(pp.port)];
        }
        for (const port of numbers) {
          for (const protocol of protos) {
            const spec: PortSpec = { protocol, port };
            if (pp.endPort !== undefined && port !== 0) spec.endPort = pp.endPort;
            if (l7 && proxyPort !== undefined) {
              spec.proxyPort = proxyPort;
              spec.l7 = l7;
            }
            out.push(spec);
          }
        }
      }
    }
    for (const ir of section.icmps ?? []) {
      for (const f of ir.fields ?? []) {
        out.push({ protocol: f.family === 'IPv6' ? Protocol.ICMPv6 : Protocol.ICMP, port: icmpTypeNumber(f) });
      }
    }
    return out;
  }

  /** True when the section selects the peer identity `id` with `labels` (`id` -1 when unknown). */
  selectsPeer(id: number, labels: LabelSet): boolean {
    if (this.wildcard) return true;
    return this.peers.some((p) => p.matches(id, labels));
  }

  /** True when the section opens the packet's protocol and port. */
  opensPort(protocol: number, port: number): boolean {
    return this.ports.some((p) => portSpecMatches(p, protocol, port));
  }

  /** The proxy port of an L7 port rule of this section that matches protocol/port, or undefined when none (the traffic is not redirected by it). */
  redirectFor(protocol: number, port: number): number | undefined {
    if (this.deny) return undefined;
    return this.ports.find((p) => p.proxyPort !== undefined && portSpecMatches(p, protocol, port))?.proxyPort;
  }

  /** A human description of the peers, e.g. `endpoints {k8s:app=web}`, `entities world`. */
  describePeers(): string {
    const parts: string[] = [];
    if (this.selectors.length) parts.push(`endpoints ${this.selectors.map((s) => s.toString()).join(' or ')}`);
    if (this.section.entities?.length) parts.push(`entities ${this.section.entities.join(', ')}`);
    if (this.cidrs.length) parts.push(`CIDRs ${this.cidrs.map((c) => c.text).join(', ')}`);
    if (this.fqdns.length) parts.push(`FQDNs ${this.fqdns.map((f) => f.label.slice(f.label.indexOf(':') + 1)).join(', ')}`);
    return parts.length ? parts.join('; ') : this.wildcard ? 'any peer' : 'no peer';
  }

  /** A human description of the ports, e.g. `80/TCP, 53/UDP`, `any port`, `80/TCP (L7 http, proxy 10001)`. */
  describePorts(): string {
    if (this.ports.length === 0) return 'no port';
    return this.ports
      .map((p) => {
        const base = p.port === 0 && p.protocol === 0 ? 'any port' : `${p.port === 0 ? '*' : p.endPort ? `${p.port}-${p.endPort}` : p.port}/${protocolName(p.protocol)}`;
        return p.l7 && p.proxyPort !== undefined ? `${base} (L7 ${l7Parser(p.l7)}, proxy ${p.proxyPort})` : base;
      })
      .join(', ');
  }
}

/** Compiles the sections of `rules` for one direction, allow sections first then deny. */
export function compileSections(
  rules: ReadonlyArray<{ rule: Rule; index: number }>,
  direction: Direction,
  namedPorts?: NamedPorts,
  egressNamedPorts?: EgressNamedPorts,
): CompiledSection[] {
  const out: CompiledSection[] = [];
  for (const deny of [false, true]) {
    for (const { rule, index } of rules) {
      for (const s of ruleSections(rule, direction, deny) ?? []) out.push(new CompiledSection(rule, index, direction, deny, s, namedPorts, egressNamedPorts));
    }
  }
  return out;
}
