// cilium endpoint list | get <id>.
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
