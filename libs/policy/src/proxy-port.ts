// Proxy redirects: the listener port per (direction, L7 parser) and the L7 policy a proxy enforces.

import type { L7Parser, L7Rules } from './l7.js';
import type { PolicyEntry } from './policy-entry.js';
import type { Direction } from './rule.js';

/** First proxy listener port; each (direction, parser) listener has a fixed port above it. */
export const ProxyPortBase = 10000;
const LISTENERS: readonly string[] = ['ingress/http', 'egress/http', 'ingress/dns', 'egress/dns', 'ingress/kafka', 'egress/kafka'];

/** The deterministic proxy port of the listener for `parser` in `direction` (10001 ingress http ... 10006 egress kafka). */
export function proxyPortFor(direction: Direction, parser: L7Parser): number {
  return ProxyPortBase + 1 + LISTENERS.indexOf(`${direction}/${parser}`);
}

/** The listener (direction, parser) of a proxy port, or undefined when it is not one. */
export function proxyListener(port: number): { direction: Direction; parser: L7Parser } | undefined {
  const l = LISTENERS[port - ProxyPortBase - 1];
  if (!l) return undefined;
  const [direction, parser] = l.split('/') as [Direction, L7Parser];
  return { direction, parser };
}

/** The L7 policy a proxy enforces for one peer on one redirected port (see EndpointPolicyHandle.l7Policy). */
export interface L7Policy {
  /** The proxy listener port the datapath redirects to. */
  proxyPort: number;
  /** The deciding map entry. */
  entry: PolicyEntry;
  /** True when some allow on this port has no L7 rules for this peer: every request passes. */
  allowAll: boolean;
  /** The merged L7 rules (a request passes when one rule matches). */
  rules: L7Rules;
}
