// toFQDNs selectors: an egress rule's `toFQDNs` entries (matchName / matchPattern) select the
// identities of IPs learned from allowed DNS answers. As in Cilium's selector cache, each
// such identity carries one `fqdn:<matchName or matchPattern>` label per selector whose
// name matched, beside its `cidr:<ip>/32` and `reserved:world` labels; the selector
// selects the identities carrying its label.

import { type DNSRule } from './l7.js';
import { dnsRuleMatches } from './l7-match.js';
import type { LabelSet } from './label-set.js';
import type { PeerSelector } from './peer-selector.js';
import type { Rule } from './rule.js';

/** Label source of the labels toFQDNs selectors put on learned IPs' identities. */
export const LabelSourceFQDN = 'fqdn';

/** The selector's name or pattern, lower case, without a trailing dot. */
function selectorText(sel: DNSRule): string {
  const t = (sel.matchName ?? sel.matchPattern ?? '').toLowerCase();
  return t.length > 1 && t.endsWith('.') ? t.slice(0, -1) : t;
}

/** The label `fqdn:<name or pattern>` a selector puts on the identities of the IPs it learned. */
export function fqdnSelectorLabel(sel: DNSRule): string {
  return `${LabelSourceFQDN}:${selectorText(sel)}`;
}

/** Every toFQDNs selector of a rule's egress sections, de-duplicated by label. */
export function ruleFqdnSelectors(rule: Rule): DNSRule[] {
  const out = new Map<string, DNSRule>();
  for (const s of rule.egress ?? []) for (const f of s.toFQDNs ?? []) out.set(fqdnSelectorLabel(f), f);
  return [...out.values()];
}

/** The `fqdn:` labels of the selectors whose name or pattern matches DNS name `name`, sorted. */
export function fqdnLabelsFor(selectors: Iterable<DNSRule>, name: string): string[] {
  const out = new Set<string>();
  for (const sel of selectors) if (dnsRuleMatches(sel, name)) out.add(fqdnSelectorLabel(sel));
  return [...out].sort();
}

/** A peer selector from a toFQDNs entry: selects identities carrying its `fqdn:` label. */
export class FQDNPeerSelector implements PeerSelector {
  readonly key: string;
  readonly label: string;
  constructor(readonly selector: DNSRule) {
    this.label = fqdnSelectorLabel(selector);
    this.key = this.label;
  }
  matches(_id: number, labels: LabelSet): boolean {
    return labels.strings.includes(this.label);
  }
  indexKeys(): string[] | undefined {
    return undefined;
  }
  toString(): string {
    return selectorText(this.selector) === '' ? 'fqdn' : `fqdn ${selectorText(this.selector)}`;
  }
}
