// Validation of raw JSON into a Rule: every field checked, every problem reported with its path.

import { type CIDRRule, validateCIDR, validateCIDRSetEntry } from './cidr.js';
import { type Entity, EntityNames, isEntity } from './entity.js';
import { type ICMPRule, validateICMPRule } from './icmp.js';
import { type DNSRule, validateDNS } from './l7.js';
import { LabelParseError, formatLabel, parseLabel } from './labels.js';
import { type PortRule, validatePortRule } from './port.js';
import type { DefaultDenyConfig, EgressRule, IngressRule, Rule } from './rule.js';
import { type EndpointSelector, validateSelector } from './selector.js';
import { IssueCollector, checkFields, describeType, isObject, joinPath } from './validation-error.js';

/** At most this many ports in one toPorts entry (as in Cilium). */
export const MaxPortsPerPortRule = 40;

/** Longest rule description, in characters: a paragraph or two of prose (Cilium sets none; ours bounds what the agent stores and shows). */
export const MaxRuleDescriptionLength = 4096;

const RULE_FIELDS = ['endpointSelector', 'ingress', 'ingressDeny', 'egress', 'egressDeny', 'labels', 'description', 'enableDefaultDeny'];
const RULE_UNSUPPORTED = ['nodeSelector', 'log'];
const INGRESS_FIELDS = ['fromEndpoints', 'fromEntities', 'fromCIDR', 'fromCIDRSet', 'toPorts', 'icmps'];
const INGRESS_UNSUPPORTED = ['fromRequires', 'fromGroups', 'fromNodes', 'authentication'];
const EGRESS_FIELDS = ['toEndpoints', 'toEntities', 'toCIDR', 'toCIDRSet', 'toFQDNs', 'toPorts', 'icmps'];
const EGRESS_UNSUPPORTED = ['toRequires', 'toServices', 'toGroups', 'toNodes', 'authentication'];

/** Validates `raw` as a rule at `path`; returns the normalized rule, or undefined when invalid. */
export function validateRule(raw: unknown, path: string, issues: IssueCollector): Rule | undefined {
  if (!isObject(raw)) {
    issues.add(path, `must be a rule object with an endpointSelector, got ${describeType(raw)}`);
    return undefined;
  }
  const before = issues.count;
  checkFields(raw, path, RULE_FIELDS, issues, RULE_UNSUPPORTED);
  let endpointSelector: EndpointSelector | undefined;
  if (raw.endpointSelector === undefined || raw.endpointSelector === null) {
    issues.add(joinPath(path, 'endpointSelector'), 'is required (use {} to select all endpoints)');
  } else endpointSelector = validateSelector(raw.endpointSelector, joinPath(path, 'endpointSelector'), issues);

  const rule: Rule = { endpointSelector: endpointSelector ?? {} };
  for (const field of ['ingress', 'ingressDeny', 'egress', 'egressDeny'] as const) {
    const v = raw[field];
    if (v === undefined || v === null) continue;
    const p = joinPath(path, field);
    if (!Array.isArray(v)) {
      issues.add(p, `must be a list of ${field.startsWith('ingress') ? 'ingress' : 'egress'} rules, got ${describeType(v)}`);
      continue;
    }
    const ingress = field.startsWith('ingress');
    const sections = v.map((e, i) => validateSection(e, joinPath(p, i), issues, ingress, field.endsWith('Deny')));
    if (field === 'ingress' || field === 'ingressDeny') rule[field] = sections as IngressRule[];
    else rule[field] = sections as EgressRule[];
  }
  if (raw.labels !== undefined && raw.labels !== null) {
    const labels = validateRuleLabels(raw.labels, joinPath(path, 'labels'), issues);
    if (labels.length > 0) rule.labels = labels;
  }
  if (raw.description !== undefined && raw.description !== null) {
    if (typeof raw.description !== 'string') issues.add(joinPath(path, 'description'), `must be a string, got ${describeType(raw.description)}`);
    else if (raw.description.length > MaxRuleDescriptionLength) {
      issues.add(joinPath(path, 'description'), `is ${raw.description.length} characters, limit ${MaxRuleDescriptionLength}`);
    } else rule.description = raw.description;
  }
  if (raw.enableDefaultDeny !== undefined && raw.enableDefaultDeny !== null) {
    const p = joinPath(path, 'enableDefaultDeny');
    if (!isObject(raw.enableDefaultDeny)) issues.add(p, `must be an object {ingress: bool, egress: bool}, got ${describeType(raw.enableDefaultDeny)}`);
    else {
      checkFields(raw.enableDefaultDeny, p, ['ingress', 'egress'], issues);
      const dd: DefaultDenyConfig = {};
      for (const d of ['ingress', 'egress'] as const) {
        const b = raw.enableDefaultDeny[d];
        if (b === undefined || b === null) continue;
        if (typeof b !== 'boolean') issues.add(joinPath(p, d), `must be true or false, got ${describeType(b)}`);
        else dd[d] = b;
      }
      rule.enableDefaultDeny = dd;
    }
  }
  return issues.count === before ? rule : undefined;
}

/** Validates rule labels: a list of `source:key=value` strings or {key, value, source} objects. */
export function validateRuleLabels(raw: unknown, path: string, issues: IssueCollector): string[] {
  if (!Array.isArray(raw)) {
    issues.add(path, `must be a list of labels, got ${describeType(raw)}`);
    return [];
  }
  const out: string[] = [];
  raw.forEach((l, i) => {
    const p = joinPath(path, i);
    if (typeof l === 'string') {
      try {
        out.push(formatLabel(parseLabel(l)));
      } catch (e) {
        issues.add(p, e instanceof LabelParseError ? `${JSON.stringify(e.input)} is not a label: ${e.reason}` : String(e));
      }
      return;
    }
    if (!isObject(l)) {
      issues.add(p, `must be a label string or {key, value, source}, got ${describeType(l)}`);
      return;
    }
    checkFields(l, p, ['key', 'value', 'source'], issues);
    const key = l.key;
    const value = l.value ?? '';
    const source = l.source ?? 'unspec';
    if (typeof key !== 'string' || key === '') issues.add(joinPath(p, 'key'), 'is required (a non-empty string)');
    else if (key.includes('=')) issues.add(joinPath(p, 'key'), `${JSON.stringify(key)} must not contain "="`);
    if (typeof value !== 'string') issues.add(joinPath(p, 'value'), `must be a string, got ${describeType(value)}`);
    if (typeof source !== 'string' || source === '' || source.includes(':')) issues.add(joinPath(p, 'source'), `${describeType(source)} is not a label source`);
    if (typeof key === 'string' && key !== '' && !key.includes('=') && typeof value === 'string' && typeof source === 'string' && source !== '' && !source.includes(':')) {
      try {
        out.push(formatLabel(parseLabel(formatLabel({ source, key, value }))));
      } catch (e) {
        issues.add(p, e instanceof LabelParseError ? `${JSON.stringify(e.input)} is not a label: ${e.reason}` : String(e));
      }
    }
  });
  return [...new Set(out)];
}

function validateSection(raw: unknown, path: string, issues: IssueCollector, ingress: boolean, deny: boolean): IngressRule | EgressRule | undefined {
  if (!isObject(raw)) {
    issues.add(path, `must be an object (an ${ingress ? 'ingress' : 'egress'} rule), got ${describeType(raw)}`);
    return undefined;
  }
  const [ep, ent, cidr, cidrSet] = ingress
    ? (['fromEndpoints', 'fromEntities', 'fromCIDR', 'fromCIDRSet'] as const)
    : (['toEndpoints', 'toEntities', 'toCIDR', 'toCIDRSet'] as const);
  checkFields(raw, path, ingress ? INGRESS_FIELDS : EGRESS_FIELDS, issues, ingress ? INGRESS_UNSUPPORTED : EGRESS_UNSUPPORTED);
  if (!ingress && deny && raw.toFQDNs !== undefined && raw.toFQDNs !== null) {
    // Cilium's EgressDenyRule has no toFQDNs.
    issues.add(joinPath(path, 'toFQDNs'), 'cannot be used in egressDeny (as in Cilium); deny the IPs with toCIDR, or allow only the names you want with toFQDNs in egress');
  }
  const out: Record<string, unknown> = {};
  const endpoints = list(raw[ep], joinPath(path, ep), issues, (v, p) => validateSelector(v, p, issues));
  if (endpoints) out[ep] = endpoints;
  const entities = list(raw[ent], joinPath(path, ent), issues, (v, p): Entity | undefined => {
    if (typeof v === 'string' && isEntity(v)) return v;
    issues.add(p, `${describeType(v)} is not an entity (one of ${EntityNames.join(', ')})`);
    return undefined;
  });
  if (entities) out[ent] = entities;
  const cidrs = list(raw[cidr], joinPath(path, cidr), issues, (v, p) => validateCIDR(v, p, issues)?.cidr);
  if (cidrs) out[cidr] = cidrs;
  const sets = list(raw[cidrSet], joinPath(path, cidrSet), issues, (v, p): CIDRRule | undefined => validateCIDRSetEntry(v, p, issues));
  if (sets) out[cidrSet] = sets;
  if (!ingress && !deny) {
    const fqdns = list(raw.toFQDNs, joinPath(path, 'toFQDNs'), issues, (v, p): DNSRule | undefined => validateDNS(v, p, issues));
    if (fqdns) out.toFQDNs = fqdns;
  }
  const toPorts = list(raw.toPorts, joinPath(path, 'toPorts'), issues, (v, p): PortRule | undefined => {
    const r = validatePortRule(v, p, issues);
    if (r?.rules && deny) issues.add(joinPath(p, 'rules'), 'L7 rules cannot be used in deny rules (as in Cilium); deny the port, or allow it with L7 rules in an allow rule');
    if (r?.ports && r.ports.length > MaxPortsPerPortRule) issues.add(joinPath(p, 'ports'), `has ${r.ports.length} ports; at most ${MaxPortsPerPortRule} are allowed, split it into several toPorts entries`);
    return r;
  });
  if (toPorts) out.toPorts = toPorts;
  const icmps = list(raw.icmps, joinPath(path, 'icmps'), issues, (v, p): ICMPRule | undefined => validateICMPRule(v, p, issues));
  if (icmps) out.icmps = icmps;

  const nonEmpty = (k: string): boolean => Array.isArray(raw[k]) && (raw[k] as unknown[]).length > 0;
  const kinds: string[] = [];
  if (nonEmpty(ep)) kinds.push(ep);
  if (nonEmpty(ent)) kinds.push(ent);
  if (nonEmpty(cidr) || nonEmpty(cidrSet)) kinds.push(nonEmpty(cidr) && nonEmpty(cidrSet) ? `${cidr}/${cidrSet}` : nonEmpty(cidr) ? cidr : cidrSet);
  if (!ingress && nonEmpty('toFQDNs')) kinds.push('toFQDNs');
  if (kinds.length > 1) issues.add(path, `combining ${kinds.join(' and ')} in one rule is not supported (as in Cilium); write them as separate ${ingress ? 'ingress' : 'egress'} rules`);
  if (Array.isArray(raw.icmps) && raw.icmps.length > 0 && Array.isArray(raw.toPorts) && raw.toPorts.length > 0) {
    issues.add(path, 'icmps and toPorts cannot be combined in one rule (as in Cilium); write them as separate rules');
  }
  return out as IngressRule | EgressRule;
}

/** Validates an optional list field, mapping each element; undefined when absent or not a list. */
function list<T>(raw: unknown, path: string, issues: IssueCollector, each: (v: unknown, p: string) => T | undefined): T[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!Array.isArray(raw)) {
    issues.add(path, `must be a list, got ${describeType(raw)}`);
    return undefined;
  }
  const out: T[] = [];
  raw.forEach((v, i) => {
    const r = each(v, joinPath(path, i));
    if (r !== undefined) out.push(r);
  });
  return out;
}
