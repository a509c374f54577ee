// cilium status: the agent's health, subsystems and kernel features.
import { agent } from '@cilium-ts/api';
import { unary } from '@cilium-ts/grpc';
import { printJson, type CliOutput } from '../cli-context.js';
import { defineCommand, hostFlag, outputFlag, wantsJson } from '../command.js';

// The enforced cluster-wide revision and whether it lags what the kvstore holds.
function policyRevisionText(st: agent.StatusResponse): string {
  const rev = st.policyRevision.toString();
  if (!st.policyLagging) return `${rev} (in sync with the cluster)`;
  return st.policyClusterRevision > st.policyRevision ? `${rev} (lagging: the cluster is at ${st.policyClusterRevision})` : `${rev} (may lag: see the policy subsystem)`;
}

/** Renders a StatusResponse as text; `verbose` lists every subsystem and kernel feature. */
export function formatStatus(st: agent.StatusResponse, verbose: boolean): string {
  const json = agent.StatusResponse.toJSON(st) as { startedAt?: string };
  const rows: Array<[string, string]> = [
    ['Node', `${st.nodeName}${st.clusterName ? ` (cluster ${st.clusterName})` : ''}`],
    ['Version', st.version],
    ['State', st.state],
    ['Pod CIDR', st.podCidrV6 ? `${st.podCidr || '-'}, ${st.podCidrV6}` : st.podCidr || '-'],
    ['Endpoints', String(st.endpointCount)],
    ['Policy revision', policyRevisionText(st)],
  ];
  if (json.startedAt) rows.push(['Started', json.startedAt]);
  if (st.bpfPinPath) rows.push(['BPF pin path', st.bpfPinPath]);
  const ok = st.subsystems.filter((s) => s.state === 'ok').length;
  rows.push(['Subsystems', `${ok}/${st.subsystems.length} ok`]);
  const avail = st.kernelFeatures.filter((f) => f.available).length;
  rows.push(['Kernel features', `${avail}/${st.kernelFeatures.length} available`]);
  const width = Math.max(...rows.map(([k]) => k.length)) + 1;
  const lines = rows.map(([k, v]) => `${(k + ':').padEnd(width + 1)}${v}`);
  for (const s of st.subsystems) {
    if (verbose || s.state !== 'ok') lines.push(`  ${s.name}: ${s.state}${s.message ? ` (${s.message})` : ''}`);
  }
  if (verbose) {
    lines.push('Kernel features:');
    for (const f of st.kernelFeatures) lines.push(`  ${f.name}: ${f.available ? 'yes' : 'no'}${f.detail ? ` (${f.detail})` : ''}`);
  }
  return lines.join('\n') + '\n';
}

function writeStatus(out: CliOutput, st: agent.StatusResponse, json: boolean, verbose: boolean): void {
  if (json) printJson(out, st);
  else out.write(formatStatus(st, verbose));
}

/** `cilium status [--verbose] [-o json]`; exits 1 when the agent reports failure. */
export const statusCommand = defineCommand({
  path: ['status'],
  summary: "show the agent's health, subsystems and kernel features",
  flags: { ...hostFlag, ...outputFlag, verbose: { type: 'boolean', description: 'list every subsystem and kernel feature (short: -v)' } },
  aliases: { '-v': '--verbose' },
  async run(ctx, { values }) {
    const json = wantsJson(values.output);
    const conn = ctx.connect(values.host);
    const st = await conn.call('Daemon.Status', (deadline) => unary(conn.daemon, 'status', {}, { deadline }));
    writeStatus(ctx.stdout, st, json, values.verbose);
    return st.state === 'failure' ? 1 : 0;
  },
});
