// Endpoint selectors: Kubernetes label selectors whose keys carry a Cilium label source.

import { LabelSet } from './label-set.js';
import { LabelSourceAny, NamespaceLabelPrefix } from './labels.js';
import { IssueCollector, checkFields, describeType, isObject, joinPath } from './validation-error.js';

/** A selector operator, as in Kubernetes. */
export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

/** One matchExpressions requirement. */
export interface SelectorRequirement {
  key: string;
  operator: SelectorOperator;
  values?: string[];
}

/** The JSON shape of an endpoint selector (Kubernetes LabelSelector with sourced keys). */
export interface EndpointSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: SelectorRequirement[];
}

const OPERATORS: readonly SelectorOperator[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];
const NAME_RE = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const SOURCE_RE = /^[A-Za-z0-9][-A-Za-z0-9_.]*$/;

/** Splits a selector key into label source and key: `k8s:app` -> k8s/app; `app` -> any/app. */
export function splitSelectorKey(key: string): { source: string; key: string } {
  const i = key.indexOf(':');
  if (i < 0) return { source: LabelSourceAny, key };
  return { source: key.slice(0, i), key: key.slice(i + 1) };
}

/** Why a selector key is malformed, or undefined when it is valid. */
export function selectorKeyProblem(key: string): string | undefined {
  if (key === '') return 'key must not be empty';
  const { source, key: name } = splitSelectorKey(key);
  if (!SOURCE_RE.test(source)) return `${JSON.stringify(key)} has an invalid label source ${JSON.stringify(source)}`;
  if (source === 'cidr') return undefined; // CIDR label keys are prefixes (with '/' and ':').
  // Namespace labels on endpoints: the prefix is followed by a whole Kubernetes label key.
  if (name.startsWith(NamespaceLabelPrefix) && name.length > NamespaceLabelPrefix.length) return selectorKeyProblem(`${source}:${name.slice(NamespaceLabelPrefix.length)}`);
  const slash = name.lastIndexOf('/');
  const prefix = slash >= 0 ? name.slice(0, slash) : '';
  const base = slash >= 0 ? name.slice(slash + 1) : name;
  if (slash >= 0 && (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN_RE.test(prefix))) {
    return `${JSON.stringify(key)} has an invalid prefix ${JSON.stringify(prefix)} (must be a DNS subdomain)`;
  }
  if (base.length === 0 || base.length > 63 || !NAME_RE.test(base)) {
    return `${JSON.stringify(key)} is not a valid label key (name part: up to 63 characters [A-Za-z0-9-_.], starting and ending alphanumeric)`;
  }
  return undefined;
}

/** Why a label value is malformed, or undefined when it is valid (may be empty). */
export function labelValueProblem(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 63 || !NAME_RE.test(value)) {
    return `${JSON.stringify(value)} is not a valid label value (up to 63 characters [A-Za-z0-9-_.], starting and ending alphanumeric)`;
  }
  return undefined;
}

/**
 * Validates raw JSON as an endpoint selector at `path`, recording every problem.
 * Returns a normalized copy, or undefined when it is not an object at all.
 */
export function validateSelector(raw: unknown, path: string, issues: IssueCollector): EndpointSelector | undefined {
  if (!isObject(raw)) {
    issues.add(path, `must be a selector object with matchLabels / matchExpressions, got ${describeType(raw)}`);
    return undefined;
  }
  checkFields(raw, path, ['matchLabels', 'matchExpressions'], issues);
  const out: EndpointSelector = {};
  if (raw.matchLabels !== undefined && raw.matchLabels !== null) {
    const p = joinPath(path, 'matchLabels');
    if (!isObject(raw.matchLabels)) issues.add(p, `must be an object of key: value, got ${describeType(raw.matchLabels)}`);
    else {
      const ml: Record<string, string> = {};
      for (const [k, v] of Object.entries(raw.matchLabels)) {
        const kp = joinPath(p, k);
        const kprob = selectorKeyProblem(k);
        if (kprob) issues.add(kp, kprob);
        if (typeof v !== 'string') {
          issues.add(kp, `value must be a string (quote it), got ${describeType(v)}`);
          continue;
        }
        const vprob = labelValueProblem(v);
        if (vprob) issues.add(kp, vprob);
        ml[k] = v;
      }
      out.matchLabels = ml;
    }
  }
  if (raw.matchExpressions !== undefined && raw.matchExpressions !== null) {
    const p = joinPath(path, 'matchExpressions');
    if (!Array.isArray(raw.matchExpressions)) issues.add(p, `must be a list, got ${describeType(raw.matchExpressions)}`);
    else {
      out.matchExpressions = [];
      raw.matchExpressions.forEach((e, i) => {
        const r = validateRequirement(e, joinPath(p, i), issues);
        if (r) out.matchExpressions!.push(r);
      });
    }
  }
  return out;
}

function validateRequirement(raw: unknown, path: string, issues: IssueCollector): SelectorRequirement | undefined {
  if (!isObject(raw)) {
    issues.add(path, `must be an object {key, operator, values}, got ${describeType(raw)}`);
    return undefined;
  }
  checkFields(raw, path, ['key', 'operator', 'values'], issues);
  let ok = true;
  if (typeof raw.key !== 'string') {
    issues.add(joinPath(path, 'key'), raw.key === undefined ? 'is required' : `must be a string, got ${describeType(raw.key)}`);
    ok = false;
  } else {
    const prob = selectorKeyProblem(raw.key);
    if (prob) {
      issues.add(joinPath(path, 'key'), prob);
      ok = false;
    }
  }
  const op = raw.operator;
  if (typeof op !== 'string' || !OPERATORS.includes(op as SelectorOperator)) {
    issues.add(
      joinPath(path, 'operator'),
      op === undefined ? `is required (one of ${OPERATORS.join(', ')})` : `${JSON.stringify(op)} is not one of ${OPERATORS.join(', ')}`,
    );
    ok = false;
  }
  const vp = joinPath(path, 'values');
  let values: string[] | undefined;
  if (raw.values !== undefined && raw.values !== null) {
    if (!Array.isArray(raw.values)) {
      issues.add(vp, `must be a list of strings, got ${describeType(raw.values)}`);
      ok = false;
    } else {
      values = [];
      raw.values.forEach((v, i) => {
        if (typeof v !== 'string') {
          issues.add(joinPath(vp, i), `must be a string (quote it), got ${describeType(v)}`);
          ok = false;
          return;
        }
        const prob = labelValueProblem(v);
        if (prob) {
          issues.add(joinPath(vp, i), prob);
          ok = false;
        }
        values!.push(v);
      });
    }
  }
  if (op === 'In' || op === 'NotIn') {
    if (!values || values.length === 0) {
      issues.add(vp, `must be a non-empty list for operator ${op}`);
      ok = false;
    }
  } else if (op === 'Exists' || op === 'DoesNotExist') {
    if (values && values.length > 0) {
      issues.add(vp, `must be empty for operator ${op}`);
      ok = false;
    }
  }
  if (!ok) return undefined;
  const r: SelectorRequirement = { key: raw.key as string, operator: op as SelectorOperator };
  if (values && values.length > 0) r.values = values;
  return r;
}

interface CompiledRequirement {
  source: string;
  key: string;
  operator: SelectorOperator;
  values: string[];
}

/** A validated endpoint selector compiled for matching label sets. */
export class Selector {
  private readonly reqs: CompiledRequirement[];
  /** The selector in its JSON shape. */
  readonly spec: EndpointSelector;

  /** Compiles a (validated) selector. */
  constructor(spec: EndpointSelector) {
    this.spec = spec;
    this.reqs = [];
    for (const [k, v] of Object.entries(spec.matchLabels ?? {})) {
      const { source, key } = splitSelectorKey(k);
      this.reqs.push({ source, key, operator: 'In', values: [v] });
    }
    for (const e of spec.matchExpressions ?? []) {
      const { source, key } = splitSelectorKey(e.key);
      this.reqs.push({ source, key, operator: e.operator, values: e.values ?? [] });
    }
  }

  /** True for the empty selector `{}`, which selects everything. */
  get isWildcard(): boolean {
    return this.reqs.length === 0;
  }

  /**
   * Index keys (`key=value`, source dropped): every label set this selector matches has at
   * least one of them (see LabelSet.keyValuePairs); undefined when the selector has no
   * `In` requirement to index on.
   */
  indexKeys(): string[] | undefined {
    let best: CompiledRequirement | undefined;
    for (const r of this.reqs) if (r.operator === 'In' && (!best || r.values.length < best.values.length)) best = r;
    return best ? best.values.map((v) => `${best!.key}=${v}`) : undefined;
  }

  /** True when every requirement holds for `labels`. */
  matches(labels: LabelSet): boolean {
    for (const r of this.reqs) {
      const list = labels.labelsWithKey(r.key);
      let any = false;
      let inValues = false;
      if (list) {
        for (const l of list) {
          if (r.source !== LabelSourceAny && l.source !== r.source) continue;
          any = true;
          if (r.values.includes(l.value)) {
            inValues = true;
            break;
          }
        }
      }
      switch (r.operator) {
        case 'In':
          if (!inValues) return false;
          break;
        case 'NotIn':
          if (inValues) return false;
          break;
        case 'Exists':
          if (!any) return false;
          break;
        case 'DoesNotExist':
          if (any) return false;
          break;
      }
    }
    return true;
  }

  /** A short human-readable form, e.g. `{k8s:app=web, any:tier In (a,b)}`. */
  toString(): string {
    if (this.reqs.length === 0) return '{} (all)';
    const parts = this.reqs.map((r) => {
      const k = `${r.source}:${r.key}`;
      if (r.operator === 'In' && r.values.length === 1) return `${k}=${r.values[0]}`;
      if (r.operator === 'Exists' || r.operator === 'DoesNotExist') return `${r.operator === 'Exists' ? '' : '!'}${k}`;
      return `${k} ${r.operator} (${r.values.join(',')})`;
    });
    return `{${parts.join(', ')}}`;
  }
}

/** Returns a copy of `sel` with matchLabels[key] = value (overwriting any previous value). */
export function withMatchLabel(sel: EndpointSelector, key: string, value: string): EndpointSelector {
  const out: EndpointSelector = { matchLabels: { ...(sel.matchLabels ?? {}), [key]: value } };
  if (sel.matchExpressions) out.matchExpressions = sel.matchExpressions.map((e) => ({ ...e, ...(e.values ? { values: [...e.values] } : {}) }));
  return out;
}
