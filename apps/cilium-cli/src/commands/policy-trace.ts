// cilium policy trace: would traffic from -s labels to -d labels on --dport be allowed?
// Offline with --policy-file, else on the agent's current rules (Policy.Get), traced
// locally by @cilium-ts/policy's tracePolicy either way.
import { unary } from '@cilium-ts/grpc';
import { StaticIdentityLookup, TraceRequestError, tracePolicy, type Repository, type TraceRequest } from '@cilium-ts/policy';
import { CliError, printJson } from '../cli-context.js';
import type { AgentConnection } from '../agent-connection.js';
import { defineCommand, hostFlag, outputFlag, parseId, wantsJson } from '../command.js';
import { repositoryFromFiles, repositoryFromJson } from '../policy-source.js';
import { proxyReadiness } from './proxy-readiness.js';

/** Parses `--dport` ("80", "80/TCP", "53/udp"); an empty string means no port. */
export function parseDport(raw: string): { dport?: number; protocol?: string } {
  if (raw === '') return {};
  const m = /^(\d{1,5})(?:\/([A-Za-z0-9]+))?$/.exec(raw);
  if (!m || Number(m[1]) > 65535) throw new CliError(`--dport "${raw}" must be PORT or PORT/PROTOCOL, e.g. 80/TCP`, 2);
  return m[2] === undefined ? { dport: Number(m[1]) } : { dport: Number(m[1]), protocol: m[2].toUpperCase() };
}

/** Id and labels of a running endpoint of the agent (`--src-endpoint` / `--dst-endpoint`). */
async function runningEndpoint(conn: AgentConnection, raw: string, flag: string): Promise<{ id: number; labels: string[] }> {
  const id = parseId(raw, `${flag} endpoint ID`);
  const ep = await conn.call('Endpoints.GetEndpoint', (deadline) => unary(conn.endpoints, 'getEndpoint', { id, containerId: '' }, { deadline }));
  return { id: ep.id, labels: ep.labels };
}

/** `cilium policy trace -s LABEL...|--src-endpoint ID -d LABEL...|--dst-endpoint ID [--dport 80/TCP] [--policy-file FILE]... [-o json]`. */
export const policyTraceCommand = defineCommand({
  path: ['policy', 'trace'],
  summary: 'trace the policy decision for traffic between two label sets',
  positionals: '-s LABEL...|--src-endpoint ID -d LABEL...|--dst-endpoint ID [--dport PORT/PROTO]',
  flags: {
    ...hostFlag,
    ...outputFlag,
    src: { type: 'string[]', description: 'labels of the source, e.g. k8s:app=web (repeatable; short: -s)' },
    dst: { type: 'string[]', description: 'labels of the destination (repeatable; short: -d)' },
    srcEndpoint: { type: 'string', description: "a running endpoint's id: trace with its labels as the source" },
    dstEndpoint: { type: 'string', description: "a running endpoint's id: trace with its labels as the destination" },
    dport: { type: 'string', description: 'destination port and protocol, e.g. 80/TCP' },
    policyFile: { type: 'string[]', description: 'trace against these policy files instead of the agent (repeatable)' },
  },
  aliases: { '-s': '--src', '-d': '--dst' },
  async run(ctx, { values, positionals }) {
    const json = wantsJson(values.output);
    if (positionals.length > 0) throw new CliError(`unexpected argument ${positionals[0]}; labels go after -s / -d`, 2);
    if (values.src.length > 0 && values.srcEndpoint) throw new CliError('give the source as labels (-s) or as --src-endpoint, not both', 2);
    if (values.dst.length > 0 && values.dstEndpoint) throw new CliError('give the destination as labels (-d) or as --dst-endpoint, not both', 2);
    if ((values.src.length === 0 && !values.srcEndpoint) || (values.dst.length === 0 && !values.dstEndpoint)) {
      throw new CliError('give the source (-s labels or --src-endpoint ID) and the destination (-d labels or --dst-endpoint ID)', 2);
    }
    if ((values.srcEndpoint || values.dstEndpoint) && values.policyFile.length > 0) throw new CliError('--src-endpoint / --dst-endpoint read the agent: leave out --policy-file', 2);
    const srcEp = values.srcEndpoint ? await runningEndpoint(ctx.connect(values.host), values.srcEndpoint, '--src-endpoint') : undefined;
    const dstEp = values.dstEndpoint ? await runningEndpoint(ctx.connect(values.host), values.dstEndpoint, '--dst-endpoint') : undefined;
    const req: TraceRequest = { srcLabels: srcEp?.labels ?? values.src, dstLabels: dstEp?.labels ?? values.dst, ...parseDport(values.dport) };
    // Running endpoints: L7 redirects pass once the proxy acknowledged them (proxy_ready), else drop (165).
    if (srcEp || dstEp) req.proxyReady = await proxyReadiness(ctx.connect(values.host), { src: srcEp?.id, dst: dstEp?.id });
    let repo: Repository;
    let identities: StaticIdentityLookup;
    if (values.policyFile.length > 0) {
      repo = await repositoryFromFiles(ctx.cwd, values.policyFile);
      identities = new StaticIdentityLookup();
    } else {
      const conn = ctx.connect(values.host);
      const res = await conn.call('Policy.Get', (deadline) => unary(conn.policy, 'get', { labels: [] }, { deadline }));
      repo = repositoryFromJson(res.policyJson, `agent ${conn.target}`);
      const ids = await conn.call('Identities.ListIdentities', (deadline) => unary(conn.identities, 'listIdentities', {}, { deadline }));
      identities = new StaticIdentityLookup(ids.identities.map((i) => [i.id, i.labels] as [number, string[]]));
    }
    let result;
    try {
      result = tracePolicy(repo, req, identities);
    } catch (err) {
      if (err instanceof TraceRequestError) throw new CliError(err.message, 2, { cause: err });
      throw err;
    }
    if (json) {
      printJson(ctx.stdout, { verdict: result.verdict, egress: result.egress, ingress: result.ingress, lines: result.lines });
    } else {
      const lines = result.lines.some((l) => l.startsWith('Final verdict')) ? result.lines : [...result.lines, `Final verdict: ${result.verdict}`];
      ctx.stdout.write(lines.join('\n') + '\n');
    }
    return 0;
  },
});
