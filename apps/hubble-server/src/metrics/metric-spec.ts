// Parses the --metrics list (upstream Hubble syntax): `name[:option[=value];option...]`
// entries, e.g. `flow:sourceContext=namespace;destinationContext=pod`, `dns:query;ignoreAAAA`.

/** One enabled metric handler with its options. */
export interface MetricSpec {
  /** Handler name, e.g. `flow`, `port-distribution`. */
  name: string;
  /** Options in the order given; a bare option has the value `''`. */
  options: Map<string, string>;
}

/** Raised for a --metrics entry that cannot be parsed or names an unknown handler or option. */
export class MetricSpecError extends Error {
  override readonly name = 'MetricSpecError';
  constructor(
    /** The offending entry as written. */
    readonly entry: string,
    reason: string,
  ) {
    super(`invalid --metrics entry "${entry}": ${reason}`);
  }
}

/** Parses entries (already split on commas; whitespace also separates entries). Duplicates: the last wins. */
export function parseMetricSpecs(entries: readonly string[]): MetricSpec[] {
  const byName = new Map<string, MetricSpec>();
  for (const entry of entries.flatMap((e) => e.split(/\s+/)).filter((e) => e !== '')) {
    const colon = entry.indexOf(':');
    const name = colon < 0 ? entry : entry.slice(0, colon);
    if (!/^[a-z][a-z0-9-]*$/i.test(name)) throw new MetricSpecError(entry, 'the handler name must be letters, digits and "-", e.g. flow or port-distribution');
    const options = new Map<string, string>();
    if (colon >= 0) {
      for (const opt of entry.slice(colon + 1).split(';')) {
        if (opt === '') continue;
        const eq = opt.indexOf('=');
        const key = eq < 0 ? opt : opt.slice(0, eq);
        if (key === '') throw new MetricSpecError(entry, `option "${opt}" has no name; write name=value`);
        options.set(key, eq < 0 ? '' : opt.slice(eq + 1));
      }
    }
    byName.set(name, { name, options });
  }
  return [...byName.values()];
}
