// cilium identity list | get <id>.
import { agent } from '@cilium-ts/api';
import { unary } from '@cilium-ts/grpc';
import { printJson } from '../cli-context.js';
import { defineCommand, expectPositionals, hostFlag, outputFlag, parseId, wantsJson } from '../command.js';

/** Renders identities like `cilium identity list`: the id, then one label per line. */
export function formatIdentities(identities: agent.Identity[]): string {
  const lines = ['ID         LABELS'];
  for (const id of [...identities].sort((a, b) => a.id - b.id)) {
    const labels = id.labels.length > 0 ? id.labels : ['-'];
    labels.forEach((l, i) => lines.push(`${(i === 0 ? String(id.id) : '').padEnd(11)}${l}`));
  }
  return lines.join('\n') + '\n';
}

/** `cilium identity list [-o json]`. */
export const identityListCommand = defineCommand({
  path: ['identity', 'list'],
  summary: 'list the security identities known to this agent',
  flags: { ...hostFlag, ...outputFlag },
  async run(ctx, { values, positionals }) {
    expectPositionals(positionals, 0, 'no arguments');
    const json = wantsJson(values.output);
    const conn = ctx.connect(values.host);
    const res = await conn.call('Identities.ListIdentities', (deadline) => unary(conn.identities, 'listIdentities', {}, { deadline }));
    if (json) printJson(ctx.stdout, res.identities);
    else ctx.stdout.write(formatIdentities(res.identities));
    return 0;
  },
});

/** `cilium identity get <id> [-o json]`. */
export const identityGetCommand = defineCommand({
  path: ['identity', 'get'],
  summary: 'show one identity',
  positionals: 'ID',
  flags: { ...hostFlag, ...outputFlag },
  async run(ctx, { values, positionals }) {
    expectPositionals(positionals, 1, 'one identity ID');
    const json = wantsJson(values.output);
    const id = parseId(positionals[0], 'identity ID');
    const conn = ctx.connect(values.host);
    const res = await conn.call('Identities.GetIdentity', (deadline) => unary(conn.identities, 'getIdentity', { id }, { deadline }));
    if (json) printJson(ctx.stdout, res);
    else ctx.stdout.write(formatIdentities([res]));
    return 0;
  },
});
