// Kubernetes label-selector syntax evaluated against Cilium `source:key=value` labels; a
// selector key written `source:key` restricts the label source, a plain key matches any.

/** One requirement of a selector. */
interface Requirement {
  source?: string;
  key: string;
  op: 'exists' | 'notexists' | 'in' | 'notin';
  values: string[];
}

/** Raised by parseLabelSelector with the position of the problem. */
export class LabelSelectorError extends Error {
  override readonly name = 'LabelSelectorError';
  constructor(
    readonly selector: string,
    readonly position: number,
    reason: string,
  ) {
    super(`${reason} at position ${position}`);
  }
}

const KEY_RE = /^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$/;
const VALUE_RE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

function splitTopLevel(s: string): { text: string; at: number }[] {
  const out: { text: string; at: number }[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '(') depth++;
    else if (s[i] === ')') depth--;
    else if (s[i] === ',' && depth === 0) {
      out.push({ text: s.slice(start, i), at: start });
      start = i + 1;
    }
  }
  out.push({ text: s.slice(start), at: start });
  return out;
}

function parseKey(selector: string, raw: string, at: number): { source?: string; key: string } {
  const text = raw.trim();
  const colon = text.indexOf(':');
  const source = colon >= 0 ? text.slice(0, colon) : undefined;
  const key = colon >= 0 ? text.slice(colon + 1) : text;
  if ((source !== undefined && !/^[A-Za-z0-9-_]+$/.test(source)) || !KEY_RE.test(key)) {
    throw new LabelSelectorError(selector, at, `invalid label key "${text}"`);
  }
  return { source, key };
}

function parseValue(selector: string, raw: string, at: number): string {
  const v = raw.trim();
  if (!VALUE_RE.test(v)) throw new LabelSelectorError(selector, at, `invalid label value "${v}"`);
  return v;
}

function parseRequirement(selector: string, text: string, at: number): Requirement {
  const t = text.trim();
  if (t === '') throw new LabelSelectorError(selector, at, 'empty requirement');
  const set = /^(.+?)\s+(in|notin)\s*\((.*)\)$/.exec(t);
  if (set) {
    const values = set[3]!.split(',').map((v) => parseValue(selector, v, at));
    return { ...parseKey(selector, set[1]!, at), op: set[2] === 'in' ? 'in' : 'notin', values };
  }
  if (t.startsWith('!')) return { ...parseKey(selector, t.slice(1), at), op: 'notexists', values: [] };
  const eq = /^(.+?)(==|!=|=)(.*)$/.exec(t);
  if (eq) {
    const value = parseValue(selector, eq[3]!, at);
    return { ...parseKey(selector, eq[1]!, at), op: eq[2] === '!=' ? 'notin' : 'in', values: [value] };
  }
  if (/[\s()<>=!]/.test(t)) throw new LabelSelectorError(selector, at, `cannot parse requirement "${t}"`);
  return { ...parseKey(selector, t, at), op: 'exists', values: [] };
}

/** A compiled selector: true when the `source:key=value` labels satisfy every requirement. */
export type LabelMatcher = (labels: readonly string[]) => boolean;

/** Parses a label selector (`k8s:app=web,env in (a,b),!debug`); throws LabelSelectorError. */
export function parseLabelSelector(selector: string): LabelMatcher {
  const reqs = selector.trim() === '' ? [] : splitTopLevel(selector).map((p) => parseRequirement(selector, p.text, p.at));
  return (labels) => {
    const parsed = labels.map((l) => {
      const colon = l.indexOf(':');
      const source = colon >= 0 ? l.slice(0, colon) : '';
      const rest = colon >= 0 ? l.slice(colon + 1) : l;
      const eq = rest.indexOf('=');
      return { source, key: eq >= 0 ? rest.slice(0, eq) : rest, value: eq >= 0 ? rest.slice(eq + 1) : '' };
    });
    return reqs.every((r) => {
      const values = parsed
        .filter((l) => l.key === r.key && (r.source === undefined || r.source === 'any' || l.source === r.source))
        .map((l) => l.value);
      switch (r.op) {
        case 'exists':
          return values.length > 0;
        case 'notexists':
          return values.length === 0;
        case 'in':
          return values.some((v) => r.values.includes(v));
        case 'notin':
          return !values.some((v) => r.values.includes(v));
      }
    });
  };
}
