// cilium node list.
import { agent } from '@cilium-ts/api';
import { createClient, unary } from '@cilium-ts/grpc';
import { formatTable, printJson } from '../cli-context.js';
import { defineCommand, expectPositionals, hostFlag, outputFlag, wantsJson } from '../command.js';

/** Renders nodes like upstream `cilium node list`: name, addresses and pod (endpoint) CIDRs per family, and the source ("local" marks this agent's node). */
export function formatNodes(nodes: agent.Node[]): string {
  const rows = nodes.map((n) => [n.name, n.ipv4 || '-', n.podCidr || '-', n.ipv6 || '-', n.podCidrV6 || '-', n.source || (n.local ? 'local' : '-')]);
  return formatTable(['Name', 'IPv4 Address', 'Endpoint CIDR', 'IPv6 Address', 'Endpoint CIDR', 'Source'], rows);
}

/** `cilium node list [-o json]`: the cluster's nodes as the agent knows them. */
export const nodeListCommand = defineCommand({
  path: ['node', 'list'],
  summary: 'list the nodes of the cluster as this agent knows them',
  flags: { ...hostFlag, ...outputFlag },
  async run(ctx, { values, positionals }) {
    expectPositionals(positionals, 0, 'no arguments');
    const json = wantsJson(values.output);
    const conn = ctx.connect(values.host);
    const client = createClient(agent.NodesClient, conn.target);
    try {
      const res = await conn.call('Nodes.ListNodes', (deadline) => unary(client, 'listNodes', {}, { deadline }));
      if (json) printJson(ctx.stdout, res.nodes);
      else ctx.stdout.write(formatNodes(res.nodes));
    } finally {
      client.close();
    }
    return 0;
  },
});
