// cilium endpoint regenerate | labels | log | health ID: troubleshooting one endpoint
// through the agent's EndpointOps service.
import { endpointOps, type agent } from '@cilium-ts/api';
import { unary } from '@cilium-ts/grpc';
import { formatTable, printJson } from '../cli-context.js';
import { defineCommand, expectPositionals, hostFlag, outputFlag, parseId, wantsJson } from '../command.js';

/** Renders an endpoint's labels like `cilium endpoint labels ID`. */
export function formatEndpointLabels(ep: agent.Endpoint): string {
  return `Endpoint ${ep.id}, identity ${ep.identity}\n` + formatTable(['LABEL', 'SOURCE'], ep.labels.map((l) => [l.slice(l.indexOf(':') + 1), l.slice(0, l.indexOf(':'))]));
}

/** Renders the status log like `cilium endpoint log ID`. */
export function formatEndpointLog(log: endpointOps.EndpointLog): string {
  return formatTable(['Timestamp', 'Status', 'State', 'Message'], log.entries.map((e) => [e.timestamp, e.code, e.state, e.message]));
}

/** Renders health like `cilium endpoint health ID`. */
export function formatEndpointHealth(h: endpointOps.EndpointHealth): string {
  return `Overall Health:   ${h.overall}\nBPF Health:       ${h.bpf}\nPolicy Health:    ${h.policy}\nConnected:        ${h.connected ? 'yes' : 'no'}\n`;
}

/** `cilium endpoint regenerate ID`. */
export const endpointRegenerateCommand = defineCommand({
  path: ['endpoint', 'regenerate'],
  summary: "recompute an endpoint's policy and reload its programs",
  positionals: 'ID',
  flags: { ...hostFlag },
  async run(ctx, { values, positionals }) {
    expectPositionals(positionals, 1, 'one endpoint ID');
    const id = parseId(positionals[0], 'endpoint ID');
    await ctx.connect(values.host).callService(endpointOps.EndpointOpsClient, 'EndpointOps.RegenerateEndpoint', (c, deadline) => unary(c, 'regenerateEndpoint', { id }, { deadline }));
    ctx.stdout.write(`Endpoint ${id} successfully regenerated\n`);
    return 0;
  },
});

/** `cilium endpoint labels ID [--add L]... [--delete L]... [-o json]`. */
export const endpointLabelsCommand = defineCommand({
  path: ['endpoint', 'labels'],
  summary: "show an endpoint's labels, or add / delete some (the endpoint takes the identity and policy of its new labels)",
  positionals: 'ID',
  flags: {
    ...hostFlag,
    ...outputFlag,
    add: { type: 'string[]', default: [], description: 'label to add, source:key=value (repeat or comma-separate)' },
    delete: { type: 'string[]', default: [], description: 'label to delete, as the endpoint has it (repeat or comma-separate)' },
  },
  aliases: { '-a': '--add', '-d': '--delete' },
  async run(ctx, { values, positionals }) {
    expectPositionals(positionals, 1, 'one endpoint ID');
    const json = wantsJson(values.output);
    const id = parseId(positionals[0], 'endpoint ID');
    const conn = ctx.connect(values.host);
    const ep = values.add.length === 0 && values.delete.length === 0
      ? await conn.call('Endpoints.GetEndpoint', (deadline) => unary(conn.endpoints, 'getEndpoint', { id, containerId: '' }, { deadline }))
      : await conn.callService(endpointOps.EndpointOpsClient, 'EndpointOps.PatchEndpointLabels', (c, deadline) =>
          unary(c, 'patchEndpointLabels', { id, add: values.add, delete: values.delete }, { deadline }));
    if (json) printJson(ctx.stdout, { id: ep.id, identity: ep.identity, labels: ep.labels });
    else ctx.stdout.write(formatEndpointLabels(ep));
    return 0;
  },
});

/**
 * A read-only `cilium endpoint VERB ID [-o json]`: one EndpointOps call with the endpoint id,
 * printed as JSON or by `render`; `exitCode` turns the answer into the command's status.
 */
function endpointShowCommand<T>(spec: {
  verb: string;
  summary: string;
  rpc: string;
  method: 'getEndpointLog' | 'getEndpointHealth';
  render: (answer: T) => string;
  json: (answer: T) => unknown;
  exitCode?: (answer: T) => number;
}) {
  return defineCommand({
    path: ['endpoint', spec.verb],
    summary: spec.summary,
    positionals: 'ID',
    flags: { ...hostFlag, ...outputFlag },
    async run(ctx, { values, positionals }) {
      expectPositionals(positionals, 1, 'one endpoint ID');
      const json = wantsJson(values.output);
      const id = parseId(positionals[0], 'endpoint ID');
      const answer = (await ctx.connect(values.host).callService(endpointOps.EndpointOpsClient, spec.rpc, (c, deadline) => unary(c, spec.method, { id }, { deadline }))) as T;
      if (json) printJson(ctx.stdout, spec.json(answer));
      else ctx.stdout.write(spec.render(answer));
      return spec.exitCode?.(answer) ?? 0;
    },
  });
}

/** `cilium endpoint log ID [-o json]`. */
export const endpointLogCommand = endpointShowCommand<endpointOps.EndpointLog>({
  verb: 'log',
  summary: "show an endpoint's status log (created, regenerated, identity changed, ...)",
  rpc: 'EndpointOps.GetEndpointLog',
  method: 'getEndpointLog',
  render: formatEndpointLog,
  json: (log) => log.entries,
});

/** `cilium endpoint health ID [-o json]`: exits 1 unless the endpoint is healthy. */
export const endpointHealthCommand = endpointShowCommand<endpointOps.EndpointHealth>({
  verb: 'health',
  summary: "check an endpoint's programs, policy map and interface now",
  rpc: 'EndpointOps.GetEndpointHealth',
  method: 'getEndpointHealth',
  render: formatEndpointHealth,
  json: (h) => h,
  exitCode: (h) => (h.overall === 'OK' ? 0 : 1),
});

/** The commands of this file, in help order. */
export const ENDPOINT_OPS_COMMANDS = [endpointRegenerateCommand, endpointLabelsCommand, endpointLogCommand, endpointHealthCommand] as const;
