// Labels: the `source:key=value` strings that describe endpoints and identities.

/** Label source that matches any source in a selector. */
export const LabelSourceAny = 'any';
/** Label source given to a label written without a source prefix (as Cilium's `unspec`). */
export const LabelSourceUnspec = 'unspec';
/** Label source of Kubernetes pod / namespace labels. */
export const LabelSourceK8s = 'k8s';
/** Label source of reserved identities (`reserved:host`, `reserved:world`, ...). */
export const LabelSourceReserved = 'reserved';
/** Label source of CIDR identities (`cidr:10.0.0.0/8`). */
export const LabelSourceCIDR = 'cidr';

/** The Kubernetes pod namespace label key (under source `k8s`). */
export const PodNamespaceLabel = 'io.kubernetes.pod.namespace';

/**
 * Prefix of the label keys (source k8s) that carry an endpoint's namespace labels, as
 * Cilium represents them: `k8s:io.cilium.k8s.namespace.labels.<key>=<value>`.
 */
export const NamespaceLabelPrefix = 'io.cilium.k8s.namespace.labels.';

/**
 * Length limits of a label's parts, in characters. Kubernetes allows 63 characters in a
 * label value, but Cilium's labels carry more than Kubernetes label values: rules are
 * labelled with their policy's name (a DNS subdomain, up to 253), endpoints with their
 * service account (up to 253), and namespace labels become keys
 * `io.cilium.k8s.namespace.labels.<key>` (31 + a qualified key of up to 317). So: value
 * 253, key 512, source 63 (a DNS label).
 */
export const MaxLabelSourceLength = 63;
/** Longest label key (see MaxLabelSourceLength). */
export const MaxLabelKeyLength = 512;
/** Longest label value (see MaxLabelSourceLength). */
export const MaxLabelValueLength = 253;

/** One parsed label. `value` is '' for labels without `=` (e.g. `reserved:host`). */
export interface Label {
  source: string;
  key: string;
  value: string;
}

/** Thrown when a label string cannot be parsed. */
export class LabelParseError extends Error {
  override readonly name = 'LabelParseError';
  /** `input` is the label as written (shortened when long); `reason` says what is wrong with it. */
  constructor(
    readonly input: string,
    readonly reason: string,
  ) {
    super(`parse label ${JSON.stringify(input)}: ${reason}; write labels as "source:key=value" (e.g. "k8s:app=web")`);
  }
}

/**
 * Parses `source:key=value`, `source:key`, `key=value` or `key`. The source is the text
 * before the first ':' of the part before '=' (so values may contain ':'); a label
 * without a source gets source `unspec`. CIDR labels keep their colons (`cidr:2001:db8::/64`).
 */
export function parseLabel(s: string): Label {
  if (typeof s !== 'string') throw new LabelParseError(String(s), 'not a string');
  const eq = s.indexOf('=');
  const head = eq >= 0 ? s.slice(0, eq) : s;
  const value = eq >= 0 ? s.slice(eq + 1) : '';
  const colon = head.indexOf(':');
  let source = LabelSourceUnspec;
  let key = head;
  if (colon >= 0) {
    source = head.slice(0, colon);
    key = head.slice(colon + 1);
    if (source === '') throw new LabelParseError(s, 'empty source before ":"');
  }
  if (key === '') throw new LabelParseError(s, 'empty key');
  const shown = s.length > 80 ? `${s.slice(0, 80)}…` : s;
  if (value.includes('=')) throw new LabelParseError(shown, 'more than one "=" (a value cannot contain "=")');
  if (source.length > MaxLabelSourceLength) throw new LabelParseError(shown, `source is ${source.length} characters, limit ${MaxLabelSourceLength}`);
  if (key.length > MaxLabelKeyLength) throw new LabelParseError(shown, `key is ${key.length} characters, limit ${MaxLabelKeyLength}`);
  if (value.length > MaxLabelValueLength) throw new LabelParseError(shown, `value is ${value.length} characters, limit ${MaxLabelValueLength}`);
  return { source, key, value };
}

/** Formats a label as `source:key=value` (`source:key` when the value is empty). */
export function formatLabel(l: Label): string {
  return l.value === '' ? `${l.source}:${l.key}` : `${l.source}:${l.key}=${l.value}`;
}

/** Normalizes label strings: parsed, formatted, sorted, de-duplicated. */
export function sortedLabels(labels: Iterable<string>): string[] {
  return [...new Set([...labels].map((s) => formatLabel(parseLabel(s))))].sort();
}

/** The canonical form of a label set: sorted, de-duplicated `source:key=value` joined with ';'. */
export function canonicalLabels(labels: string[]): string {
  return sortedLabels(labels).join(';');
}
