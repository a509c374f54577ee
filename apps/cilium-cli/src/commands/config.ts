// cilium config: the configuration the agent runs with (Daemon.GetConfig), and
// `cilium config KEY=VALUE ...` for the options that change at runtime (DaemonConfig.PatchConfig).
import { daemonConfig } from '@cilium-ts/api';
import { unary } from '@cilium-ts/grpc';
import { CliError, printJson } from '../cli-context.js';
import { defineCommand, hostFlag, outputFlag, wantsJson } from '../command.js';

/** Renders name -> value as upstream's two aligned columns, sorted by name. */
export function formatConfig(options: Record<string, string>): string {
  const names = Object.keys(options).sort((a, b) => a.localeCompare(b));
  const width = Math.max(0, ...names.map((n) => n.length)) + 3;
  return names.map((n) => `${n.padEnd(width)}${options[n] === '' ? '-' : options[n]}`).join('\n') + '\n';
}

/** Parses `KEY=VALUE` arguments; a usage error (exit 2) names one without `=`, an empty key, or a key given twice. */
export function parseConfigAssignments(args: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [i, arg] of args.entries()) {
    const eq = arg.indexOf('=');
    if (eq <= 0) throw new CliError(`argument ${i + 1} "${arg}" is not KEY=VALUE (e.g. Debug=true); see --help`, 2);
    const key = arg.slice(0, eq);
    if (Object.hasOwn(out, key)) throw new CliError(`argument ${i + 1}: ${key} is given twice`, 2);
    out[key] = arg.slice(eq + 1);
  }
  return out;
}

/**
 * `cilium config [KEY=VALUE ...] [-o json]`: without arguments, every setting of the agent
 * (runtime-mutable options as Enabled / Disabled) in upstream's JSON shape,
 * `{"status": {"daemonConfigurationMap": {...}}}`; with them, sets runtime-mutable options
 * (Debug, PolicyVerdictNotification) all or nothing.
 */
export const configCommand = defineCommand({
  path: ['config'],
  summary: 'show the agent configuration, or set runtime-mutable options (KEY=VALUE)',
  positionals: '[KEY=VALUE ...]',
  flags: { ...hostFlag, ...outputFlag },
  async run(ctx, { values, positionals }) {
    const json = wantsJson(values.output);
    const conn = ctx.connect(values.host);
    if (positionals.length > 0) {
      const options = parseConfigAssignments(positionals);
      const res = await conn.callService(daemonConfig.DaemonConfigClient, 'DaemonConfig.PatchConfig', (c, deadline) => unary(c, 'patchConfig', { options }, { deadline }));
      if (json) printJson(ctx.stdout, res);
      else ctx.stdout.write(res.changed.length === 0 ? 'Configuration unchanged (the options already had these values)\n' : `Configuration updated successfully: ${res.changed.map((n) => `${n}=${res.options[n]}`).join(', ')}\n`);
      return 0;
    }
    const res = await conn.call('Daemon.GetConfig', (deadline) => unary(conn.daemon, 'getConfig', {}, { deadline }));
    if (json) printJson(ctx.stdout, { status: { daemonConfigurationMap: res.options } });
    else ctx.stdout.write(formatConfig(res.options));
    return 0;
  },
});
