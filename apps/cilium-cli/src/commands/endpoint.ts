// cilium endpoint list | get <id> | config <id> [Option=value ...].
import { agent } from '@cilium-ts/api';
import { unary } from '@cilium-ts/grpc';
import { CliError, formatTable, printJson } from '../cli-context.js';
import { defineCommand, expectPositionals, hostFlag, outputFlag, parseId, wantsJson } from '../command.js';

function enforcement(on: boolean): string {
  return on ? 'Enabled' : 'Disabled';
}

/** Renders endpoints as the `cilium endpoint list` table. */
export function formatEndpoints(endpoints: agent.Endpoint[]): string {
  const rows = [...endpoints]
    .sort((a, b) => a.id - b.id)
    .map((e) => [
      String(e.id),
      enforcement(e.ingressEnforced),
      enforcement(e.egressEnforced),
      String(e.identity),
      e.ipv4 || '-',
      e.namespace && e.podName ? `${e.namespace}/${e.podName}` : e.podName || '-',
      e.state,
      e.labels.join(' ') || '-',
    ]);
  return formatTable(['ENDPOINT', 'POLICY (ingress)', 'POLICY (egress)', 'IDENTITY', 'IPv4', 'POD', 'STATUS', 'LABELS'], rows);
}

/** `cilium endpoint list [-o json]`. */
export const endpointListCommand = defineCommand({
  path: ['endpoint', 'list'],
  summary: 'list the endpoints of this node',
  flags: { ...hostFlag, ...outputFlag },
  async run(ctx, { values, positionals }) {
    expectPositionals(positionals, 0, 'no arguments');
    const json = wantsJson(values.output);
    const conn = ctx.connect(values.host);
    const res = await conn.call('Endpoints.ListEndpoints', (deadline) => unary(conn.endpoints, 'listEndpoints', {}, { deadline }));
    if (json) printJson(ctx.stdout, res.endpoints);
    else ctx.stdout.write(formatEndpoints(res.endpoints));
    return 0;
  },
});

/** `cilium endpoint get <id>`: the endpoint as JSON (as Cilium prints it). */
export const endpointGetCommand = defineCommand({
  path: ['endpoint', 'get'],
  summary: 'show one endpoint (JSON), by id or container-id:ID',
  positionals: 'ID|container-id:ID',
  flags: { ...hostFlag, ...outputFlag },
  async run(ctx, { values, positionals }) {
    expectPositionals(positionals, 1, 'one endpoint ID');
    wantsJson(values.output);
    const arg = positionals[0]!;
    const req = arg.startsWith('container-id:') ? { id: 0, containerId: arg.slice('container-id:'.length) } : { id: parseId(arg, 'endpoint ID'), containerId: '' };
    if (req.id === 0 && req.containerId === '') throw new CliError('container-id: needs a container id, e.g. container-id:3f2a...', 2);
    const conn = ctx.connect(values.host);
    const ep = await conn.call('Endpoints.GetEndpoint', (deadline) => unary(conn.endpoints, 'getEndpoint', req, { deadline }));
    printJson(ctx.stdout, ep);
    return 0;
  },
});

/** Parses `Option=value` arguments into a map; a usage error (exit 2) names an argument without "=". */
export function parseOptionArgs(args: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq <= 0 || eq === arg.length - 1) throw new CliError(`"${arg}" is not Option=value (e.g. Debug=true); see cilium endpoint config --list-options`, 2);
    out[arg.slice(0, eq)] = arg.slice(eq + 1);
  }
  return out;
}

/** Renders an endpoint's options as upstream does: one aligned `Option   Value` line each. */
export function formatEndpointConfig(cfg: agent.EndpointConfig, column: 'value' | 'description' = 'value'): string {
  const width = Math.max(0, ...cfg.options.map((o) => o.name.length)) + 3;
  return cfg.options.map((o) => `${o.name.padEnd(width)}${column === 'value' ? o.value : o.description}\n`).join('');
}

/** `cilium endpoint config <id> [Option=value ...] [--list-options] [-o json]`. */
export const endpointConfigCommand = defineCommand({
  path: ['endpoint', 'config'],
  summary: 'view or change an endpoint\'s options, e.g. Debug=true',
  positionals: 'ID [Option=value ...]',
  flags: {
    ...hostFlag,
    ...outputFlag,
    listOptions: { type: 'boolean', default: false, description: 'list the available options with what they do' },
  },
  async run(ctx, { values, positionals }) {
    const json = wantsJson(values.output);
    if (positionals.length === 0) throw new CliError('expected an endpoint ID (see cilium endpoint list), then optional Option=value arguments; see --help', 2);
    const id = parseId(positionals[0], 'endpoint ID');
    const changes = parseOptionArgs(positionals.slice(1));
    const conn = ctx.connect(values.host);
    if (Object.keys(changes).length === 0) {
      const cfg = await conn.call('Endpoints.GetEndpointConfig', (deadline) => unary(conn.endpoints, 'getEndpointConfig', { id }, { deadline }));
      if (json) printJson(ctx.stdout, Object.fromEntries(cfg.options.map((o) => [o.name, o.value])));
      else ctx.stdout.write(formatEndpointConfig(cfg, values.listOptions ? 'description' : 'value'));
      return 0;
    }
    const cfg = await conn.call('Endpoints.PatchEndpointConfig', (deadline) => unary(conn.endpoints, 'patchEndpointConfig', { id, options: changes }, { deadline }));
    if (json) printJson(ctx.stdout, Object.fromEntries(cfg.options.map((o) => [o.name, o.value])));
    else ctx.stdout.write(`Endpoint ${id} configuration updated successfully\n`);
    return 0;
  },
});
