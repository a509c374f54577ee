// LabelSet: an endpoint's or identity's labels, indexed by key for selector matching.

import { type Label, LabelSourceReserved, formatLabel, parseLabel } from './labels.js';

/** An immutable set of parsed labels indexed by key. */
export class LabelSet {
  private readonly byKey = new Map<string, Label[]>();
  /** The labels in canonical (sorted, de-duplicated) string form. */
  readonly strings: readonly string[];

  /** Parses `labels` (throws LabelParseError on a malformed label). */
  constructor(labels: Iterable<string>) {
    const seen = new Set<string>();
    for (const s of labels) {
      const l = parseLabel(s);
      const str = formatLabel(l);
      if (seen.has(str)) continue;
      seen.add(str);
      this.index(l.key, l);
      // `reserved:world` selects the dual-stack world identities too, as in Cilium.
      if (l.source === LabelSourceReserved && (l.key === 'world-ipv4' || l.key === 'world-ipv6')) {
        this.index('world', { source: LabelSourceReserved, key: 'world', value: '' });
      }
    }
    this.strings = [...seen].sort();
  }

  private index(key: string, l: Label): void {
    const list = this.byKey.get(key);
    if (list) list.push(l);
    else this.byKey.set(key, [l]);
  }

  /** Values of the labels with `key` from `source` (`any` matches every source). */
  values(source: string, key: string): string[] {
    const list = this.byKey.get(key);
    if (!list) return [];
    const out: string[] = [];
    for (const l of list) if (source === 'any' || l.source === source) out.push(l.value);
    return out;
  }

  /** Every indexed `key=value` pair (sources dropped), for selector indexes. */
  keyValuePairs(): string[] {
    const out: string[] = [];
    for (const [key, list] of this.byKey) for (const l of list) out.push(`${key}=${l.value}`);
    return out;
  }

  /** The labels with `key` (any source), without copying; undefined when none. */
  labelsWithKey(key: string): readonly Label[] | undefined {
    return this.byKey.get(key);
  }

  /** True when a label with `key` from `source` exists. */
  has(source: string, key: string): boolean {
    return this.values(source, key).length > 0;
  }

  /** True when a label `source:key=value` exists (`any` matches every source). */
  hasValue(source: string, key: string, value: string): boolean {
    return this.values(source, key).includes(value);
  }

  /** The canonical string form (`;`-joined). */
  toString(): string {
    return this.strings.join(';');
  }
}
