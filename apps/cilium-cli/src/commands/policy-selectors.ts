// cilium policy selectors: the agent's selector cache (PolicySelectors.ListSelectors), as
// upstream: SELECTOR, LABELS (of the rules it comes from), USERS, IDENTITIES.
import { policySelectors } from '@cilium-ts/api';
import { unary } from '@cilium-ts/grpc';
import type { AgentConnection } from '../agent-connection.js';
import { printJson } from '../cli-context.js';
import { defineCommand, expectPositionals, hostFlag, outputFlag, wantsJson } from '../command.js';
import { table } from './bpf.js';

/** Renders the selector cache like upstream's `cilium policy selectors`. */
export function formatSelectors(res: policySelectors.ListSelectorsResponse): string {
  const rows = res.selectors.map((s) => [s.selector, s.labels.length === 0 ? '-' : s.labels.join(','), String(s.users), s.identities.join(' ')]);
  return table(['SELECTOR', 'LABELS', 'USERS', 'IDENTITIES'], rows);
}

/** Reads the selector cache (also used by cilium debuginfo). */
export function listSelectors(conn: AgentConnection): Promise<policySelectors.ListSelectorsResponse> {
  return conn.callService(policySelectors.PolicySelectorsClient, 'PolicySelectors.ListSelectors', (c, deadline) => unary(c, 'listSelectors', {}, { deadline }));
}

/** `cilium policy selectors [-o json]`. */
export const policySelectorsCommand = defineCommand({
  path: ['policy', 'selectors'],
  summary: 'show the selector cache: each selector in use, the identities it selects, its users',
  flags: { ...hostFlag, ...outputFlag },
  async run(ctx, { values, positionals }) {
    expectPositionals(positionals, 0, 'no arguments');
    const json = wantsJson(values.output);
    const res = await listSelectors(ctx.connect(values.host));
    if (json) printJson(ctx.stdout, res.selectors);
    else ctx.stdout.write(formatSelectors(res));
    return 0;
  },
});
