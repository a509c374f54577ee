// source_fqdn / destination_fqdn: `*`-wildcard name patterns against source/destination names.
import { FilterError, type FlowFilterKind, type FlowPredicate } from './filter.js';

/** Compiles FQDN patterns (`*` = `[-.0-9a-z]*`) into one anchored regex; invalid characters throw FilterError. */
export function compileFqdnPatterns(field: string, patterns: string[]): RegExp {
  const parts = patterns.map((raw) => {
    let p = raw.trim().toLowerCase();
    if (p.endsWith('.')) p = p.slice(0, -1);
    if (p === '' || !/^[-a-z0-9_.*]+$/.test(p)) {
      throw new FilterError(field, raw, 'only letters, digits, "-", "_", "." and the "*" wildcard are allowed');
    }
    return p.replace(/\./g, '\\.').replace(/\*/g, '[-.0-9a-z]*');
  });
  return new RegExp(`^(?:${parts.join('|')})$`);
}

/** The FQDN filter kind. */
export const fqdnFilter: FlowFilterKind = {
  name: 'fqdn',
  build(ff) {
    const out: FlowPredicate[] = [];
    if (ff.sourceFqdn.length > 0) {
      const re = compileFqdnPatterns('source_fqdn', ff.sourceFqdn);
      out.push((f) => f.sourceNames.some((n) => re.test(n)));
    }
    if (ff.destinationFqdn.length > 0) {
      const re = compileFqdnPatterns('destination_fqdn', ff.destinationFqdn);
      out.push((f) => f.destinationNames.some((n) => re.test(n)));
    }
    return out;
  },
};
