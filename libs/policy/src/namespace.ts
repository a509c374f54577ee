// Namespace scoping of rules that come from a namespaced CiliumNetworkPolicy object.

import { LabelSourceK8s, PodNamespaceLabel } from './labels.js';
import type { EgressRule, IngressRule, Rule } from './rule.js';
import { type EndpointSelector, splitSelectorKey, withMatchLabel } from './selector.js';

/** The selector key of the pod namespace label, `k8s:io.kubernetes.pod.namespace`. */
export const PodNamespaceSelectorKey = `${LabelSourceK8s}:${PodNamespaceLabel}`;

function namesNamespace(sel: EndpointSelector, ops: readonly string[]): boolean {
  const isNsKey = (k: string): boolean => {
    const { source, key } = splitSelectorKey(k);
    return key === PodNamespaceLabel && (source === LabelSourceK8s || source === 'any');
  };
  if (ops.includes('In') && Object.keys(sel.matchLabels ?? {}).some(isNsKey)) return true;
  return (sel.matchExpressions ?? []).some((e) => isNsKey(e.key) && ops.includes(e.operator));
}

/**
 * Scopes a peer selector of a rule in namespace `ns`. As in Cilium, a selector that does
 * not name the namespace label gets `k8s:io.kubernetes.pod.namespace=<ns>`. A selector
 * that names it positively (matchLabels, In, Exists) is left as written, so policies may
 * allow other namespaces. Hardening beyond Cilium: a selector that names it only
 * negatively (NotIn, DoesNotExist) also gets `Exists` on it, so a namespaced policy can
 * select pods of other namespaces but never non-pod identities (world, host, ...); use
 * entities or CIDRs for those.
 */
export function scopePeerSelector(sel: EndpointSelector, ns: string): EndpointSelector {
  if (namesNamespace(sel, ['In', 'Exists'])) return sel;
  if (namesNamespace(sel, ['NotIn', 'DoesNotExist'])) {
    return { ...sel, matchExpressions: [...(sel.matchExpressions ?? []), { key: PodNamespaceSelectorKey, operator: 'Exists' }] };
  }
  return withMatchLabel(sel, PodNamespaceSelectorKey, ns);
}

/**
 * Returns `rule` scoped to namespace `ns`: its endpointSelector selects only endpoints
 * with `k8s:io.kubernetes.pod.namespace=<ns>` (whatever it says), and its fromEndpoints /
 * toEndpoints peers are scoped with scopePeerSelector.
 */
export function scopeRuleToNamespace(rule: Rule, ns: string): Rule {
  const out: Rule = { ...rule, endpointSelector: withMatchLabel(rule.endpointSelector, PodNamespaceSelectorKey, ns) };
  const ing = (r: IngressRule): IngressRule => (r.fromEndpoints ? { ...r, fromEndpoints: r.fromEndpoints.map((s) => scopePeerSelector(s, ns)) } : r);
  const eg = (r: EgressRule): EgressRule => (r.toEndpoints ? { ...r, toEndpoints: r.toEndpoints.map((s) => scopePeerSelector(s, ns)) } : r);
  if (rule.ingress) out.ingress = rule.ingress.map(ing);
  if (rule.ingressDeny) out.ingressDeny = rule.ingressDeny.map(ing);
  if (rule.egress) out.egress = rule.egress.map(eg);
  if (rule.egressDeny) out.egressDeny = rule.egressDeny.map(eg);
  return out;
}
