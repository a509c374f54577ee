// parsePolicyDocument: JSON / YAML text -> validated rules (plain rules or Kubernetes CNP / CCNP objects).

import { parseAllDocuments } from 'yaml';
import { checkDocumentSize, nestingMessage, PolicyDocumentTooLargeError, valueNestingViolation, yamlNestingViolation } from './document-limits.js';
import { KindNetworkPolicy, NetworkingApiVersion, networkPolicyToRules } from './k8s-network-policy.js';
import { scopeRuleToNamespace } from './namespace.js';
import { objectRuleLabels, validateObjectMetadata } from './object-metadata.js';
import type { Rule } from './rule.js';
import { validateRule } from './rule-validate.js';
import { IssueCollector, checkFields, describeType, isObject, joinPath } from './validation-error.js';

/** The apiVersion of Cilium policy objects. */
export const CiliumApiVersion = 'cilium.io/v2';
/** Kind of a namespaced Cilium policy object. */
export const KindCNP = 'CiliumNetworkPolicy';
/** Kind of a clusterwide Cilium policy object. */
export const KindCCNP = 'CiliumClusterwideNetworkPolicy';
export { DefaultNamespace, PolicyLabel } from './object-metadata.js';


/**
 * Parses a policy document (JSON or YAML, several YAML documents allowed): a single rule,
 * a list of rules, a CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy object (spec or
 * specs), a Kubernetes NetworkPolicy (networking.k8s.io/v1), or a list / `kind: List` of them. Rules from a namespaced object are scoped to
 * its namespace and labelled with its name, namespace and kind. Throws
 * PolicyValidationError listing every problem with its path; returns nothing partial.
 */
export function parsePolicyDocument(text: string, source?: string): Rule[] {
  const issues = new IssueCollector();
  if (typeof text !== 'string') {
    issues.add('', `document must be text, got ${describeType(text)}`);
    issues.throwIfAny(source);
  }
  try {
    checkDocumentSize(text);
  } catch (e) {
    if (!(e instanceof PolicyDocumentTooLargeError)) throw e;
    issues.add('', e.message);
    issues.throwIfAny(source);
  }
  const values = decode(text, issues);
  issues.throwIfAny(source);
  const rules: Rule[] = [];
  values.forEach((v, i) => {
    const base = values.length > 1 ? `document[${i}]` : '';
    if (v === null || v === undefined) return; // empty YAML document
    rules.push(...fromValue(v, base, issues));
  });
  if (issues.count === 0 && rules.length === 0) issues.add('', 'document holds no rules');
  issues.throwIfAny(source);
  return rules;
}

function decode(text: string, issues: IssueCollector): unknown[] {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    let value: unknown;
    let isJson = true;
    try {
      value = JSON.parse(text) as unknown;
    } catch {
      // Not JSON: YAML flow syntax may still parse it; YAML reports the error otherwise.
      isJson = false;
    }
    if (isJson) {
      const deep = valueNestingViolation(value);
      if (deep) issues.add(deep.path, nestingMessage(deep));
      return deep ? [] : [value];
    }
  }
  // The YAML composer recurses per level: refuse deep documents before composing them.
  const deep = yamlNestingViolation(text);
  if (deep) {
    issues.add('', nestingMessage(deep));
    return [];
  }
  let docs;
  try {
    docs = parseAllDocuments(text, { uniqueKeys: true, prettyErrors: true });
  } catch (e) {
    issues.add('', `cannot parse as JSON or YAML: ${(e as Error).message}`);
    return [];
  }
  const list = Array.isArray(docs) ? docs : [];
  const out: unknown[] = [];
  list.forEach((d, i) => {
    if (d.errors.length > 0) {
      for (const err of d.errors) issues.add(list.length > 1 ? `document[${i}]` : '', `cannot parse as JSON or YAML: ${err.message.split('\n')[0]}`);
      return;
    }
    try {
      out.push(d.toJS({ maxAliasCount: 50 }));
    } catch (e) {
      issues.add(list.length > 1 ? `document[${i}]` : '', `cannot convert YAML: ${(e as Error).message}`);
    }
  });
  return out;
}

function fromValue(v: unknown, path: string, issues: IssueCollector): Rule[] {
  if (Array.isArray(v)) {
    const out: Rule[] = [];
    v.forEach((item, i) => {
      const p = joinPath(path, i);
      if (isObject(item) && ('kind' in item || 'apiVersion' in item)) out.push(...fromObject(item, p, issues, false));
      else {
        const r = validateRule(item, p, issues);
        if (r) out.push(r);
      }
    });
    return out;
  }
  if (isObject(v) && ('kind' in v || 'apiVersion' in v)) return fromObject(v, path, issues, true);
  const r = validateRule(v, path, issues);
  return r ? [r] : [];
}

function fromObject(obj: Record<string, unknown>, path: string, issues: IssueCollector, allowList: boolean): Rule[] {
  const kind = obj.kind;
  if (kind === 'List' && allowList) {
    checkFields(obj, path, ['apiVersion', 'kind', 'items', 'metadata'], issues);
    if (obj.apiVersion !== undefined && obj.apiVersion !== 'v1') issues.add(joinPath(path, 'apiVersion'), `${describeType(obj.apiVersion)} is not "v1" (kind List)`);
    const items = obj.items;
    if (!Array.isArray(items)) {
      issues.add(joinPath(path, 'items'), items === undefined ? 'is required' : `must be a list, got ${describeType(items)}`);
      return [];
    }
    const out: Rule[] = [];
    items.forEach((it, i) => {
      const p = joinPath(joinPath(path, 'items'), i);
      if (!isObject(it)) issues.add(p, `must be a ${KindCNP}, ${KindCCNP} or ${KindNetworkPolicy} object, got ${describeType(it)}`);
      else out.push(...fromObject(it, p, issues, false));
    });
    return out;
  }
  if (kind === KindNetworkPolicy) return networkPolicyToRules(obj, path, issues);
  if (kind !== KindCNP && kind !== KindCCNP) {
    issues.add(joinPath(path, 'kind'), `${describeType(kind)} is not a supported kind (${KindCNP}, ${KindCCNP}, ${KindNetworkPolicy} (${NetworkingApiVersion})${allowList ? ', List' : ''})`);
    return [];
  }
  checkFields(obj, path, ['apiVersion', 'kind', 'metadata', 'spec', 'specs', 'status'], issues);
  if (obj.apiVersion !== CiliumApiVersion) {
    issues.add(joinPath(path, 'apiVersion'), `${obj.apiVersion === undefined ? 'is required' : `${describeType(obj.apiVersion)} is not supported`}; use "${CiliumApiVersion}"`);
  }
  const meta = validateObjectMetadata(obj.metadata, joinPath(path, 'metadata'), kind, kind === KindCNP, issues);
  const namespace = meta.namespace;
  const specs: Array<[unknown, string]> = [];
  if (obj.spec !== undefined && obj.spec !== null) specs.push([obj.spec, joinPath(path, 'spec')]);
  if (obj.specs !== undefined && obj.specs !== null) {
    const sp = joinPath(path, 'specs');
    if (!Array.isArray(obj.specs)) issues.add(sp, `must be a list of rules, got ${describeType(obj.specs)}`);
    else obj.specs.forEach((s, i) => specs.push([s, joinPath(sp, i)]));
  }
  if (specs.length === 0) issues.add(path, 'has neither spec nor specs; add the policy rule(s)');
  const objLabels = objectRuleLabels(kind, meta);
  const out: Rule[] = [];
  for (const [s, p] of specs) {
    const r = validateRule(s, p, issues);
    if (!r) continue;
    const scoped = namespace !== undefined ? scopeRuleToNamespace(r, namespace) : r;
    // The object's own labels are authoritative: user labels may not claim another object.
    const userLabels = (r.labels ?? []).filter((l) => !l.slice(l.indexOf(':') + 1).startsWith('io.cilium.k8s.policy.'));
    scoped.labels = [...new Set([...userLabels, ...objLabels])].sort();
    out.push(scoped);
  }
  return out;
}
