// The selector cache as `cilium policy selectors` shows it: each selector in use, the
// identities it selects, how many users (endpoint policies) hold it, and the labels of the
// rules it comes from.

import { compileSections } from './compiled-section.js';
import type { RepositoryRule } from './repository.js';
import type { SelectorCache } from './selector-cache.js';

/** One cached selector, as upstream's SelectorIdentityMapping. */
export interface SelectorReport {
  /** The selector in its human form (e.g. `k8s:app=web`, `entity:world`, a CIDR). */
  selector: string;
  /** The identities it selects now, ascending. */
  identities: number[];
  /** Endpoint policies that use it. */
  users: number;
  /** Labels of the rules that contain it (each label once, sorted). */
  labels: string[];
}

/**
 * Reports every selection of `cache`, ordered by selector text; rule labels come from the
 * rules of `rules` whose sections (either direction, allow or deny) hold the selector.
 */
export function selectorReport(cache: SelectorCache, rules: readonly RepositoryRule[]): SelectorReport[] {
  const labelsByKey = new Map<string, Set<string>>();
  for (const { rule, key } of rules) {
    for (const dir of ['ingress', 'egress'] as const) {
      for (const section of compileSections([{ rule, index: key }], dir)) {
        for (const peer of section.peers) {
          let set = labelsByKey.get(peer.key);
          if (!set) labelsByKey.set(peer.key, (set = new Set()));
          for (const l of rule.labels ?? []) set.add(l);
        }
      }
    }
  }
  return cache
    .cachedSelections()
    .map((sel) => ({
      selector: sel.selector.toString(),
      identities: sel.sorted(),
      users: sel.users.size,
      labels: [...(labelsByKey.get(sel.selector.key) ?? [])].sort(),
    }))
    .sort((a, b) => a.selector.localeCompare(b.selector));
}
