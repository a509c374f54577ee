// cilium version: the client's version and, when reachable, the agent's.
import { unary } from '@cilium-ts/grpc';
import { printJson } from '../cli-context.js';
import { defineCommand, hostFlag, outputFlag, wantsJson } from '../command.js';

/** The version of this CLI. */
export const CLI_VERSION = '0.1.0';

/** `cilium version [-o json]`: never fails because the agent is down. */
export const versionCommand = defineCommand({
  path: ['version'],
  summary: 'show the client and agent versions',
  flags: { ...hostFlag, ...outputFlag },
  async run(ctx, { values }) {
    const json = wantsJson(values.output);
    const conn = ctx.connect(values.host);
    let daemon: string;
    let reachable = true;
    try {
      const st = await conn.call('Daemon.Status', (deadline) => unary(conn.daemon, 'status', {}, { deadline: Math.min(deadline, 5000) }));
      daemon = st.version;
    } catch (err) {
      reachable = false;
      daemon = `unreachable (${(err as Error).message})`;
    }
    if (json) printJson(ctx.stdout, { client: CLI_VERSION, daemon: reachable ? daemon : null });
    else ctx.stdout.write(`Client: ${CLI_VERSION} cilium-ts node ${process.versions.node}\nDaemon: ${daemon}\n`);
    return 0;
  },
});
