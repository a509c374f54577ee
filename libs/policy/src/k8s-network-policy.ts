// Kubernetes NetworkPolicy (networking.k8s.io/v1): validation and translation into rules.

import { type CIDRRule, validateCIDRSetEntry } from './cidr.js';
import { LabelSourceK8s, NamespaceLabelPrefix, PodNamespaceLabel } from './labels.js';
import { PodNamespaceSelectorKey } from './namespace.js';
import { objectRuleLabels, validateObjectMetadata } from './object-metadata.js';
import { type PortProtocol, type PortRule, namedPortProblem } from './port.js';
import { MaxPortsPerPortRule } from './rule-validate.js';
import type { EgressRule, IngressRule, Rule } from './rule.js';
import { type EndpointSelector, type SelectorRequirement, validateSelector } from './selector.js';
import { IssueCollector, checkFields, describeType, isObject, joinPath } from './validation-error.js';

/** apiVersion of Kubernetes NetworkPolicy objects. */
export const NetworkingApiVersion = 'networking.k8s.io/v1';
/** Kind of a Kubernetes NetworkPolicy object. */
export const KindNetworkPolicy = 'NetworkPolicy';

/** The endpoint label that carries namespace label `key=value` (`k8s:io.cilium.k8s.namespace.labels.<key>=<value>`). */
export function namespaceLabel(key: string, value: string): string {
  return `${LabelSourceK8s}:${NamespaceLabelPrefix}${key}=${value}`;
}

/** A Kubernetes label selector with its keys given label source `k8s` and prefixed with `prefix`. */
function sourced(sel: EndpointSelector, prefix: string): EndpointSelector {
  const out: EndpointSelector = {};
  if (sel.matchLabels) out.matchLabels = Object.fromEntries(Object.entries(sel.matchLabels).map(([k, v]) => [`${LabelSourceK8s}:${prefix}${k}`, v]));
  if (sel.matchExpressions) out.matchExpressions = sel.matchExpressions.map((e) => ({ ...e, key: `${LabelSourceK8s}:${prefix}${e.key}` }));
  return out;
}

function withRequirement(sel: EndpointSelector, req: SelectorRequirement): EndpointSelector {
  return { ...sel, matchExpressions: [...(sel.matchExpressions ?? []), req] };
}

/** Validates a Kubernetes label selector (keys without a label source). */
function validateK8sSelector(raw: unknown, path: string, issues: IssueCollector): EndpointSelector | undefined {
  const before = issues.count;
  const sel = validateSelector(raw, path, issues);
  for (const k of [...Object.keys(sel?.matchLabels ?? {}), ...(sel?.matchExpressions ?? []).map((e) => e.key)]) {
    if (k.includes(':')) issues.add(path, `key ${JSON.stringify(k)}: Kubernetes label keys have no label source (":" is not allowed)`);
  }
  return issues.count === before ? sel : undefined;
}

type Peer = { endpoints: EndpointSelector } | { cidr: CIDRRule };

function validatePeer(raw: unknown, path: string, ns: string, issues: IssueCollector): Peer | undefined {
  if (!isObject(raw)) {
    issues.add(path, `must be an object {podSelector, namespaceSelector} or {ipBlock}, got ${describeType(raw)}`);
    return undefined;
  }
  checkFields(raw, path, ['podSelector', 'namespaceSelector', 'ipBlock'], issues);
  const has = (k: string): boolean => raw[k] !== undefined && raw[k] !== null;
  if (has('ipBlock')) {
    if (has('podSelector') || has('namespaceSelector')) {
      issues.add(path, 'ipBlock cannot be combined with podSelector or namespaceSelector in one peer; write separate peers');
      return undefined;
    }
    const p = joinPath(path, 'ipBlock');
    const c = validateCIDRSetEntry(raw.ipBlock, p, issues);
    return c ? { cidr: c } : undefined;
  }
  if (!has('podSelector') && !has('namespaceSelector')) {
    issues.add(path, 'must set podSelector, namespaceSelector or ipBlock');
    return undefined;
  }
  const pods = has('podSelector') ? validateK8sSelector(raw.podSelector, joinPath(path, 'podSelector'), issues) : {};
  const nss = has('namespaceSelector') ? validateK8sSelector(raw.namespaceSelector, joinPath(path, 'namespaceSelector'), issues) : undefined;
  if (!pods || (has('namespaceSelector') && !nss)) return undefined;
  let sel = sourced(pods, '');
  if (nss) {
    // Pods in the namespaces whose labels match: namespace labels as Cilium puts them on endpoints.
    const ns = sourced(nss, NamespaceLabelPrefix);
    sel = { ...sel, ...(ns.matchLabels ? { matchLabels: { ...(sel.matchLabels ?? {}), ...ns.matchLabels } } : {}) };
    if (ns.matchExpressions) sel = { ...sel, matchExpressions: [...(sel.matchExpressions ?? []), ...ns.matchExpressions] };
    sel = withRequirement(sel, { key: PodNamespaceSelectorKey, operator: 'Exists' });
  } else {
    sel = { ...sel, matchLabels: { ...(sel.matchLabels ?? {}), [PodNamespaceSelectorKey]: ns } };
  }
  return { endpoints: sel };
}

function validatePorts(raw: unknown, path: string, issues: IssueCollector): PortRule[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!Array.isArray(raw)) {
    issues.add(path, `must be a list of {protocol, port, endPort}, got ${describeType(raw)}`);
    return undefined;
  }
  const ports: PortProtocol[] = [];
  raw.forEach((p, i) => {
    const pp = joinPath(path, i);
    if (!isObject(p)) {
      issues.add(pp, `must be an object {protocol, port, endPort}, got ${describeType(p)}`);
      return;
    }
    checkFields(p, pp, ['protocol', 'port', 'endPort'], issues);
    const before = issues.count;
    const out: PortProtocol = {};
    const proto = p.protocol ?? 'TCP';
    if (proto !== 'TCP' && proto !== 'UDP' && proto !== 'SCTP') issues.add(joinPath(pp, 'protocol'), `${describeType(proto)} is not a protocol (TCP, UDP or SCTP)`);
    else out.protocol = proto;
    let numeric: number | undefined;
    if (p.port !== undefined && p.port !== null) {
      const portPath = joinPath(pp, 'port');
      if (typeof p.port === 'number') {
        if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) issues.add(portPath, `${p.port} is not a port number (1-65535)`);
        else numeric = p.port;
      } else if (typeof p.port === 'string') {
        if (/^\d+$/.test(p.port)) issues.add(portPath, `${JSON.stringify(p.port)}: a numeric port must be an integer, not a string`);
        else {
          const prob = namedPortProblem(p.port);
          if (prob) issues.add(portPath, prob);
          else out.port = p.port;
        }
      } else issues.add(portPath, `must be a port number or name, got ${describeType(p.port)}`);
      if (numeric !== undefined) out.port = String(numeric);
    }
    if (p.endPort !== undefined && p.endPort !== null) {
      const ep = joinPath(pp, 'endPort');
      if (typeof p.endPort !== 'number' || !Number.isInteger(p.endPort) || p.endPort < 1 || p.endPort > 65535) issues.add(ep, `${describeType(p.endPort)} is not a port number (1-65535)`);
      else if (numeric === undefined) issues.add(ep, 'requires a numeric port to start the range (not a named port)');
      else if (p.endPort < numeric) issues.add(ep, `${p.endPort} is lower than port ${numeric}; endPort must be >= port`);
      else if (p.endPort > numeric) out.endPort = p.endPort;
    }
    if (issues.count === before) ports.push(out);
  });
  const rules: PortRule[] = [];
  for (let i = 0; i < ports.length; i += MaxPortsPerPortRule) rules.push({ ports: ports.slice(i, i + MaxPortsPerPortRule) });
  return rules;
}

function validateDirection(raw: unknown, path: string, ns: string, ingress: boolean, issues: IssueCollector): Array<IngressRule & EgressRule> {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    issues.add(path, `must be a list of ${ingress ? 'ingress' : 'egress'} rules, got ${describeType(raw)}`);
    return [];
  }
  const peersField = ingress ? 'from' : 'to';
  const out: Array<IngressRule & EgressRule> = [];
  raw.forEach((r, i) => {
    const rp = joinPath(path, i);
    if (!isObject(r)) {
      issues.add(rp, `must be an object {${peersField}, ports}, got ${describeType(r)}`);
      return;
    }
    checkFields(r, rp, [peersField, 'ports'], issues);
    const toPorts = validatePorts(r.ports, joinPath(rp, 'ports'), issues);
    const withPorts = (s: IngressRule & EgressRule): IngressRule & EgressRule => (toPorts && toPorts.length > 0 ? { ...s, toPorts } : s);
    const rawPeers = r[peersField];
    if (rawPeers !== undefined && rawPeers !== null && !Array.isArray(rawPeers)) {
      issues.add(joinPath(rp, peersField), `must be a list of peers, got ${describeType(rawPeers)}`);
      return;
    }
    const peers = (rawPeers as unknown[] | undefined) ?? [];
    // No peers: every source / destination, inside or outside the cluster.
    if (peers.length === 0) {
      out.push(withPorts(ingress ? { fromEntities: ['all'] } : { toEntities: ['all'] }));
      return;
    }
    peers.forEach((p, j) => {
      const peer = validatePeer(p, joinPath(joinPath(rp, peersField), j), ns, issues);
      if (!peer) return;
      if ('cidr' in peer) out.push(withPorts(ingress ? { fromCIDRSet: [peer.cidr] } : { toCIDRSet: [peer.cidr] }));
      else out.push(withPorts(ingress ? { fromEndpoints: [peer.endpoints] } : { toEndpoints: [peer.endpoints] }));
    });
  });
  return out;
}

/**
 * Validates a NetworkPolicy object at `path` and translates it into one rule, as Cilium
 * does: the podSelector (in the policy's namespace) selects the endpoints; each `from` /
 * `to` peer becomes a section (podSelector: pods of the policy's namespace;
 * namespaceSelector: pods of the namespaces whose labels match, through the endpoint
 * labels `k8s:io.cilium.k8s.namespace.labels.*`; ipBlock: a CIDR set); no peers means all
 * peers. A direction listed in policyTypes (default Ingress, plus Egress when egress rules
 * are given) is enforced even with no rules (deny all); a direction not listed is ignored.
 * Named ports resolve like those of Cilium rules. Problems go to `issues`.
 */
export function networkPolicyToRules(obj: Record<string, unknown>, path: string, issues: IssueCollector): Rule[] {
  const before = issues.count;
  checkFields(obj, path, ['apiVersion', 'kind', 'metadata', 'spec', 'status'], issues);
  if (obj.apiVersion !== NetworkingApiVersion) {
    issues.add(joinPath(path, 'apiVersion'), `${obj.apiVersion === undefined ? 'is required' : `${describeType(obj.apiVersion)} is not supported`}; use "${NetworkingApiVersion}" for kind ${KindNetworkPolicy}`);
  }
  const meta = validateObjectMetadata(obj.metadata, joinPath(path, 'metadata'), KindNetworkPolicy, true, issues);
  const ns = meta.namespace!;
  const sp = joinPath(path, 'spec');
  const spec = obj.spec;
  if (!isObject(spec)) {
    issues.add(sp, spec === undefined ? 'is required (with a podSelector)' : `must be an object, got ${describeType(spec)}`);
    return [];
  }
  checkFields(spec, sp, ['podSelector', 'policyTypes', 'ingress', 'egress'], issues);
  let podSelector: EndpointSelector | undefined;
  if (spec.podSelector === undefined || spec.podSelector === null) issues.add(joinPath(sp, 'podSelector'), 'is required (use {} to select every pod of the namespace)');
  else podSelector = validateK8sSelector(spec.podSelector, joinPath(sp, 'podSelector'), issues);
  let types: string[] | undefined;
  if (spec.policyTypes !== undefined && spec.policyTypes !== null) {
    const tp = joinPath(sp, 'policyTypes');
    if (!Array.isArray(spec.policyTypes)) issues.add(tp, `must be a list of Ingress / Egress, got ${describeType(spec.policyTypes)}`);
    else {
      types = [];
      spec.policyTypes.forEach((t, i) => {
        if (t !== 'Ingress' && t !== 'Egress') issues.add(joinPath(tp, i), `${describeType(t)} is not a policy type (Ingress or Egress)`);
        else types!.push(t);
      });
    }
  }
  const ingress = validateDirection(spec.ingress, joinPath(sp, 'ingress'), ns, true, issues);
  const egress = validateDirection(spec.egress, joinPath(sp, 'egress'), ns, false, issues);
  if (issues.count !== before || !podSelector) return [];
  types ??= Array.isArray(spec.egress) && spec.egress.length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
  const rule: Rule = { endpointSelector: { ...sourced(podSelector, ''), matchLabels: { ...(sourced(podSelector, '').matchLabels ?? {}), [`${LabelSourceK8s}:${PodNamespaceLabel}`]: ns } } };
  // An empty section ({}) puts the direction in default deny and allows nothing.
  if (types.includes('Ingress')) rule.ingress = ingress.length > 0 ? ingress : [{}];
  if (types.includes('Egress')) rule.egress = egress.length > 0 ? egress : [{}];
  rule.labels = objectRuleLabels(KindNetworkPolicy, meta).sort();
  return [rule];
}
