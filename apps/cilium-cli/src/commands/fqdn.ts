// cilium fqdn cache list|clean: the agent's toFQDNs DNS cache (the IPs endpoints learned for
// the names they resolved through the DNS proxy), through the agent's FQDN service.
import { fqdn } from '@cilium-ts/api';
import { unary } from '@cilium-ts/grpc';
import { CliError, formatTable, printJson } from '../cli-context.js';
import { defineCommand, expectPositionals, hostFlag, outputFlag, parseId, wantsJson } from '../command.js';

const filterFlags = {
  endpoint: { type: 'string', default: '', description: 'only this endpoint id (short: -e)' },
  matchpattern: { type: 'string', default: '', description: 'only names matching this pattern, `*` for any run of characters (short: -p)' },
} as const;

function filter(values: { endpoint: string; matchpattern: string }): { endpointId: number; matchPattern: string } {
  return { endpointId: values.endpoint === '' ? 0 : parseId(values.endpoint, '--endpoint'), matchPattern: values.matchpattern };
}

/** Renders entries as upstream's `cilium fqdn cache list`: Endpoint, Source, FQDN, TTL, ExpirationTime, IPs. */
export function formatFqdnCache(entries: readonly fqdn.FqdnCacheEntry[]): string {
  return formatTable(
    ['Endpoint', 'Source', 'FQDN', 'TTL', 'ExpirationTime', 'IPs'],
    entries.map((e) => [String(e.endpointId), e.source, e.fqdn, String(e.ttl), e.expirationTime, e.ips.join(',')]),
  );
}

/** `cilium fqdn cache list [-e ID] [-p PATTERN] [-o json]`. */
export const fqdnCacheListCommand = defineCommand({
  path: ['fqdn', 'cache', 'list'],
  summary: 'list the DNS names endpoints resolved through the DNS proxy and the IPs toFQDNs rules allow for them',
  flags: { ...hostFlag, ...outputFlag, ...filterFlags },
  aliases: { '-e': '--endpoint', '-p': '--matchpattern' },
  async run(ctx, { values, positionals }) {
    expectPositionals(positionals, 0, 'no arguments');
    const json = wantsJson(values.output);
    const res = await ctx.connect(values.host).callService(fqdn.FQDNClient, 'FQDN.ListCache', (c, deadline) => unary(c, 'listCache', filter(values), { deadline }));
    if (json) printJson(ctx.stdout, res.entries.map((e) => ({ endpoint: e.endpointId, source: e.source, fqdn: e.fqdn, ttl: e.ttl, 'expiration-time': e.expirationTime, 'lookup-time': e.lookupTime, ips: e.ips })));
    else ctx.stdout.write(formatFqdnCache(res.entries));
    return 0;
  },
});

/** `cilium fqdn cache clean -f [-e ID] [-p PATTERN]`. */
export const fqdnCacheCleanCommand = defineCommand({
  path: ['fqdn', 'cache', 'clean'],
  summary: 'remove DNS cache entries (all, or of one endpoint / matching a pattern): their IPs are dropped until resolved again; needs -f',
  flags: { ...hostFlag, ...filterFlags, force: { type: 'boolean', default: false, description: 'clean without asking (required: this command does not prompt; short: -f)' } },
  aliases: { '-e': '--endpoint', '-p': '--matchpattern', '-f': '--force' },
  async run(ctx, { values, positionals }) {
    expectPositionals(positionals, 0, 'no arguments');
    if (!values.force) throw new CliError('cleaning the fqdn cache drops traffic to the IPs it allowed until pods resolve the names again; pass -f to confirm', 2);
    const res = await ctx.connect(values.host).callService(fqdn.FQDNClient, 'FQDN.CleanCache', (c, deadline) => unary(c, 'cleanCache', filter(values), { deadline }));
    ctx.stdout.write(`Removed ${res.removed} entr${res.removed === 1 ? 'y' : 'ies'}\n`);
    return 0;
  },
});

/** The commands of this file, in help order. */
export const FQDN_COMMANDS = [fqdnCacheListCommand, fqdnCacheCleanCommand] as const;
