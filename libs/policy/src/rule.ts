// The policy rule model (the api/v2 CiliumNetworkPolicy spec subset this engine implements).

import type { CIDRRule } from './cidr.js';
import type { Entity } from './entity.js';
import type { ICMPRule } from './icmp.js';
import type { DNSRule } from './l7.js';
import type { PortRule } from './port.js';
import type { EndpointSelector } from './selector.js';

/** One ingress (or ingressDeny) section entry: who may send, on which ports. */
export interface IngressRule {
  fromEndpoints?: EndpointSelector[];
  fromEntities?: Entity[];
  fromCIDR?: string[];
  fromCIDRSet?: CIDRRule[];
  toPorts?: PortRule[];
  icmps?: ICMPRule[];
}

/** One egress (or egressDeny) section entry: where the endpoint may send, on which ports. */
export interface EgressRule {
  toEndpoints?: EndpointSelector[];
  toEntities?: Entity[];
  toCIDR?: string[];
  toCIDRSet?: CIDRRule[];
  /** DNS names (matchName / matchPattern): the IPs learned from allowed DNS answers for them (fqdn-selector.ts). */
  toFQDNs?: DNSRule[];
  toPorts?: PortRule[];
  icmps?: ICMPRule[];
}

/** Per-direction switch: false means the rule does not put selected endpoints into default deny. */
export interface DefaultDenyConfig {
  ingress?: boolean;
  egress?: boolean;
}

/** A validated policy rule. Namespaced rules already carry their namespace in their selectors. */
export interface Rule {
  endpointSelector: EndpointSelector;
  ingress?: IngressRule[];
  ingressDeny?: IngressRule[];
  egress?: EgressRule[];
  egressDeny?: EgressRule[];
  /** Labels identifying the rule (`source:key=value`), used to replace and delete it. */
  labels?: string[];
  description?: string;
  enableDefaultDeny?: DefaultDenyConfig;
}

/** The rule directions. */
export type Direction = 'ingress' | 'egress';

/** A section of a rule normalized across directions: peers, ports, icmps. */
export interface RuleSection {
  endpoints?: EndpointSelector[];
  entities?: Entity[];
  cidrs?: CIDRRule[];
  /** toFQDNs selectors (egress allow sections only). */
  fqdns?: DNSRule[];
  toPorts?: PortRule[];
  icmps?: ICMPRule[];
}

/** The rule's allow and deny sections for `dir`, normalized (from- and to- fields folded into one shape). */
export function ruleSections(rule: Rule, dir: Direction, deny: boolean): RuleSection[] | undefined {
  if (dir === 'ingress') {
    const list = deny ? rule.ingressDeny : rule.ingress;
    return list?.map((r) => normalize(r.fromEndpoints, r.fromEntities, r.fromCIDR, r.fromCIDRSet, r.toPorts, r.icmps));
  }
  const list = deny ? rule.egressDeny : rule.egress;
  return list?.map((r) => {
    const s = normalize(r.toEndpoints, r.toEntities, r.toCIDR, r.toCIDRSet, r.toPorts, r.icmps);
    if (r.toFQDNs) s.fqdns = r.toFQDNs;
    return s;
  });
}

function normalize(
  endpoints: EndpointSelector[] | undefined,
  entities: Entity[] | undefined,
  cidr: string[] | undefined,
  cidrSet: CIDRRule[] | undefined,
  toPorts: PortRule[] | undefined,
  icmps: ICMPRule[] | undefined,
): RuleSection {
  const s: RuleSection = {};
  if (endpoints) s.endpoints = endpoints;
  if (entities) s.entities = entities;
  if (cidr || cidrSet) s.cidrs = [...(cidr ?? []).map((c) => ({ cidr: c })), ...(cidrSet ?? [])];
  if (toPorts) s.toPorts = toPorts;
  if (icmps) s.icmps = icmps;
  return s;
}

/** True when the rule has a section (allow or deny) for `dir` that turns on default deny. */
export function ruleEnforces(rule: Rule, dir: Direction): boolean {
  // As in Cilium, an empty list (`ingress: []`) is no section; `ingress: [{}]` is one that allows nothing.
  const has =
    dir === 'ingress'
      ? (rule.ingress?.length ?? 0) > 0 || (rule.ingressDeny?.length ?? 0) > 0
      : (rule.egress?.length ?? 0) > 0 || (rule.egressDeny?.length ?? 0) > 0;
  return has && rule.enableDefaultDeny?.[dir] !== false;
}

/** A short name for a rule in messages: `Kind ns/name`, else its labels, else its description, else its index. */
export function ruleName(rule: Rule, index: number): string {
  const get = (k: string): string | undefined => rule.labels?.find((l) => l.startsWith(`k8s:io.cilium.k8s.policy.${k}=`))?.split('=')[1];
  const name = get('name');
  if (name !== undefined) {
    const ns = get('namespace');
    return `${get('derived-from') ?? 'policy'} ${ns !== undefined ? `${ns}/` : ''}${name} (#${index})`;
  }
  if (rule.labels && rule.labels.length > 0) return `[${rule.labels.join(' ')}] (#${index})`;
  if (rule.description) return `${JSON.stringify(rule.description)} (#${index})`;
  return `#${index}`;
}
