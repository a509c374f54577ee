// cilium ipam list.
import { unary } from '@cilium-ts/grpc';
import { formatTable, printJson } from '../cli-context.js';
import { defineCommand, expectPositionals, hostFlag, outputFlag, wantsJson } from '../command.js';

/** `cilium ipam list [-o json]`: the pod CIDR and every allocated address with its owner. */
export const ipamListCommand = defineCommand({
  path: ['ipam', 'list'],
  summary: "list the node's pod CIDR and allocated addresses",
  flags: { ...hostFlag, ...outputFlag },
  async run(ctx, { values, positionals }) {
    expectPositionals(positionals, 0, 'no arguments');
    const json = wantsJson(values.output);
    const conn = ctx.connect(values.host);
    const res = await conn.call('Ipam.List', (deadline) => unary(conn.ipam, 'list', {}, { deadline }));
    if (json) {
      printJson(ctx.stdout, res);
      return 0;
    }
    ctx.stdout.write(`Pod CIDR: ${res.podCidr || '-'}   allocated: ${res.allocations.length}   available: ${res.available}\n`);
    if (res.podCidrV6) ctx.stdout.write(`IPv6 pod CIDR: ${res.podCidrV6}   available: ${res.availableV6}\n`);
    const rows = res.allocations.map((a) => [a.ip, a.owner]);
    ctx.stdout.write(formatTable(['IP', 'OWNER'], rows));
    return 0;
  },
});
