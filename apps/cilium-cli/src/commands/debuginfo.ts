// cilium debuginfo: one report of the agent's state for a bug report or a support case,
// every section read from the agent's own APIs: status, config, endpoints, policy (rules and
// revision), identities, the selector cache, services, BPF maps with their pressure, and
// the agent's recent log records. Markdown (default, as upstream) or JSON.
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { agentLog, lb, maps } from '@cilium-ts/api';
import { unary } from '@cilium-ts/grpc';
import type { AgentConnection } from '../agent-connection.js';
import { CliError, protoJsonReplacer } from '../cli-context.js';
import { defineCommand, expectPositionals, hostFlag } from '../command.js';
import { formatConfig } from './config.js';
import { formatEndpoints } from './endpoint.js';
import { formatIdentities } from './identity.js';
import { formatMapList } from './map.js';
import { formatSelectors, listSelectors } from './policy-selectors.js';
import { formatServices } from './service.js';
import { formatStatus } from './status.js';

/** Recent agent log records in a report. */
export const DEBUGINFO_LOG_LINES = 200;

/** One section of the report: its JSON value and its text. */
interface SectionData {
  json: unknown;
  text: string;
}

/** One section: its key in JSON, its title in markdown, and how to read it from the agent. */
interface DebuginfoSection {
  key: string;
  title: string;
  read(conn: AgentConnection): Promise<SectionData>;
}

/** The sections, in report order. */
export const DEBUGINFO_SECTIONS: readonly DebuginfoSection[] = [
  {
    key: 'status',
    title: 'Cilium status',
    async read(conn) {
      const st = await conn.call('Daemon.Status', (deadline) => unary(conn.daemon, 'status', {}, { deadline }));
      return { json: st, text: formatStatus(st, true) };
    },
  },
  {
    key: 'config',
    title: 'Cilium configuration',
    async read(conn) {
      const res = await conn.call('Daemon.GetConfig', (deadline) => unary(conn.daemon, 'getConfig', {}, { deadline }));
      return { json: res.options, text: formatConfig(res.options) };
    },
  },
  {
    key: 'endpoints',
    title: 'Endpoint list',
    async read(conn) {
      const res = await conn.call('Endpoints.ListEndpoints', (deadline) => unary(conn.endpoints, 'listEndpoints', {}, { deadline }));
      return { json: res.endpoints, text: formatEndpoints(res.endpoints) };
    },
  },
  {
    key: 'policy',
    title: 'Policy get',
    async read(conn) {
      const res = await conn.call('Policy.Get', (deadline) => unary(conn.policy, 'get', { labels: [] }, { deadline }));
      const rules: unknown = res.policyJson === '' ? [] : JSON.parse(res.policyJson);
      return { json: { revision: res.revision, ruleCount: res.ruleCount, rules }, text: `${JSON.stringify(rules, null, 2)}\nRevision: ${res.revision}\n` };
    },
  },
  {
    key: 'identities',
    title: 'Identity list',
    async read(conn) {
      const res = await conn.call('Identities.ListIdentities', (deadline) => unary(conn.identities, 'listIdentities', {}, { deadline }));
      return { json: res.identities, text: formatIdentities(res.identities) };
    },
  },
  {
    key: 'selectors',
    title: 'Policy selectors',
    async read(conn) {
      const res = await listSelectors(conn);
      return { json: res.selectors, text: formatSelectors(res) };
    },
  },
  {
    key: 'services',
    title: 'Service list',
    async read(conn) {
      const res = await conn.callService(lb.LoadBalancerClient, 'LoadBalancer.ListServices', (c, deadline) => unary(c, 'listServices', {}, { deadline }));
      return { json: res.services, text: formatServices(res.services) };
    },
  },
  {
    key: 'maps',
    title: 'BPF maps',
    async read(conn) {
      const res = await conn.callService(maps.BpfMapsClient, 'BpfMaps.ListMaps', (c, deadline) => unary(c, 'listMaps', {}, { deadline }));
      return { json: res.maps, text: formatMapList(res) };
    },
  },
  {
    key: 'agentLog',
    title: 'Recent agent log',
    async read(conn) {
      const res = await conn.callService(agentLog.AgentLogClient, 'AgentLog.RecentLog', (c, deadline) => unary(c, 'recentLog', { maxLines: DEBUGINFO_LOG_LINES }, { deadline }));
      return { json: res.lines.map((l) => parseLogLine(l)), text: res.lines.join('\n') + (res.lines.length ? '\n' : '') };
    },
  },
];

function parseLogLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return line;
  }
}

/** The report: every section's value, and the sections that could not be read (key -> error). */
export interface DebuginfoReport {
  generatedAt: string;
  sections: Map<string, SectionData>;
  errors: Map<string, string>;
}

/** Reads every section; a failed one is recorded with its error and the others are still read. */
export async function collectDebuginfo(conn: AgentConnection, now = new Date()): Promise<DebuginfoReport> {
  const sections = new Map<string, SectionData>();
  const errors = new Map<string, string>();
  await Promise.all(
    DEBUGINFO_SECTIONS.map(async (s) => {
      try {
        sections.set(s.key, await s.read(conn));
      } catch (err) {
        errors.set(s.key, (err as Error).message);
      }
    }),
  );
  return { generatedAt: now.toISOString(), sections, errors };
}

/** The report as JSON: one key per section (in order), then `errors` when a section failed. */
export function debuginfoJson(r: DebuginfoReport): string {
  const out: Record<string, unknown> = { generatedAt: r.generatedAt };
  for (const s of DEBUGINFO_SECTIONS) if (r.sections.has(s.key)) out[s.key] = r.sections.get(s.key)!.json;
  if (r.errors.size > 0) out.errors = Object.fromEntries(r.errors);
  return JSON.stringify(out, protoJsonReplacer, 2) + '\n';
}

/** The report as markdown, as upstream: a title, then one `####` heading and code block per section. */
export function debuginfoMarkdown(r: DebuginfoReport): string {
  const parts = [`# Cilium debug information\n\nGenerated at ${r.generatedAt}\n`];
  for (const s of DEBUGINFO_SECTIONS) {
    const data = r.sections.get(s.key);
    const body = data ? data.text : `error: ${r.errors.get(s.key) ?? 'not read'}\n`;
    parts.push(`#### ${s.title}\n\n\`\`\`\n${body}\`\`\`\n`);
  }
  return parts.join('\n');
}

/** `cilium debuginfo [-o json|markdown] [--output-directory D]`; exit 1 when a section could not be read. */
export const debuginfoCommand = defineCommand({
  path: ['debuginfo'],
  summary: 'one report of the agent state: status, config, endpoints, policy, identities, selectors, services, maps, log',
  flags: {
    ...hostFlag,
    output: { type: 'string', default: 'markdown', description: 'report format: markdown or json (short: -o)' },
    outputDirectory: { type: 'string', description: 'write the report into a new file in this directory instead of stdout' },
  },
  async run(ctx, { values, positionals }) {
    expectPositionals(positionals, 0, 'no arguments');
    const format = values.output === '' ? 'markdown' : values.output;
    if (format !== 'markdown' && format !== 'json') throw new CliError(`unknown output format "${values.output}"; use -o markdown or -o json`, 2);
    const report = await collectDebuginfo(ctx.connect(values.host));
    const text = format === 'json' ? debuginfoJson(report) : debuginfoMarkdown(report);
    if (values.outputDirectory) {
      const dir = resolve(ctx.cwd, values.outputDirectory);
      mkdirSync(dir, { recursive: true });
      const stamp = report.generatedAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
      const file = resolve(dir, `cilium-debuginfo-${stamp}.${format === 'json' ? 'json' : 'md'}`);
      writeFileSync(file, text, { flag: 'wx' });
      ctx.stdout.write(`Debug info written to ${file}\n`);
    } else {
      ctx.stdout.write(text);
    }
    for (const [key, message] of report.errors) ctx.stderr.write(`debuginfo: section ${key}: ${message}\n`);
    return report.errors.size > 0 ? 1 : 0;
  },
});
