// cilium config: the configuration the agent runs with (Daemon.GetConfig).
import { unary } from '@cilium-ts/grpc';
import { printJson } from '../cli-context.js';
import { defineCommand, hostFlag, outputFlag, wantsJson } from '../command.js';

/** Renders name -> value as upstream's two aligned columns, sorted by name. */
export function formatConfig(options: Record<string, string>): string {
  const names = Object.keys(options).sort((a, b) => a.localeCompare(b));
  const width = Math.max(0, ...names.map((n) => n.length)) + 3;
  return names.map((n) => `${n.padEnd(width)}${options[n] === '' ? '-' : options[n]}`).join('\n') + '\n';
}

/**
 * `cilium config [-o json]`: every setting of the agent (all read-only: the agent has no
 * runtime-mutable daemon options; per-endpoint options are `cilium endpoint config`).
 * JSON is upstream's shape, `{"status": {"daemonConfigurationMap": {...}}}`.
 */
export const configCommand = defineCommand({
  path: ['config'],
  summary: 'show the configuration the agent runs with',
  flags: { ...hostFlag, ...outputFlag },
  async run(ctx, { values }) {
    const json = wantsJson(values.output);
    const conn = ctx.connect(values.host);
    const res = await conn.call('Daemon.GetConfig', (deadline) => unary(conn.daemon, 'getConfig', {}, { deadline }));
    if (json) printJson(ctx.stdout, { status: { daemonConfigurationMap: res.options } });
    else ctx.stdout.write(formatConfig(res.options));
    return 0;
  },
});
