// cilium bpf policy get <endpoint> | ct list | ipcache list | metrics list: dumps of the
// node's BPF maps through the agent's Bpf service.
import { agent } from '@cilium-ts/api';
import { createClient, unary } from '@cilium-ts/grpc';
import type { AgentConnection } from '../agent-connection.js';
import { printJson } from '../cli-context.js';
import { defineCommand, expectPositionals, hostFlag, outputFlag, parseId, wantsJson } from '../command.js';

const PROTOCOLS: Readonly<Record<number, string>> = { 0: 'ANY', 1: 'ICMP', 6: 'TCP', 17: 'UDP', 58: 'ICMPv6', 132: 'SCTP' };

/** Protocol name of an IP protocol number (the number itself when unknown). */
export function protocolName(p: number): string {
  return PROTOCOLS[p] ?? String(p);
}

const title = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/** Left-aligned columns separated by two spaces, header first. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

/** Renders an endpoint's policy map like `cilium bpf policy get`. */
export function formatBpfPolicy(res: agent.BpfPolicyGetResponse): string {
  const enforced = (on: boolean): string => (on ? 'enforced' : 'not enforced (everything allowed)');
  const head = `Endpoint ${res.endpointId}: ingress ${enforced(res.ingressEnforced)}, egress ${enforced(res.egressEnforced)}\n`;
  const rows = res.entries.map((e) => [
    e.deny ? 'Deny' : 'Allow',
    title(e.direction),
    String(e.identity),
    e.identity === 0 ? 'ANY' : e.identityLabels.join(',') || '-',
    `${e.port === 0 ? 'ANY' : e.port}/${protocolName(e.protocol)}`,
    e.proxyPort ? String(e.proxyPort) : 'NONE',
  ]);
  return head + table(['POLICY', 'DIRECTION', 'IDENTITY', 'LABELS (source:key[=value])', 'PORT/PROTO', 'PROXY PORT'], rows);
}

const hostPort = (family: number, ip: string, port: number): string => (family === 6 ? `[${ip}]:${port}` : `${ip}:${port}`);

/** Renders connection tracking entries, one connection per line. */
export function formatBpfCt(res: agent.BpfCtListResponse): string {
  const rows = res.entries.map((e) => [
    String(e.endpointId),
    e.direction === 'egress' ? 'OUT' : 'IN',
    protocolName(e.protocol),
    hostPort(e.family, e.source, e.sourcePort),
    hostPort(e.family, e.destination, e.destinationPort),
    e.state,
    String(e.packets),
    String(e.bytes),
    `${e.idleSeconds}s`,
    `${e.expiresInSeconds}s`,
    String(e.peerIdentity),
  ]);
  return table(['ENDPOINT', 'DIR', 'PROTO', 'SOURCE', 'DESTINATION', 'STATE', 'PACKETS', 'BYTES', 'IDLE', 'EXPIRES', 'PEER IDENTITY'], rows);
}

/** Renders the ipcache like `cilium bpf ipcache list`. */
export function formatBpfIpcache(res: agent.BpfIpcacheListResponse): string {
  return table(['IP PREFIX/ADDRESS', 'IDENTITY', 'HOST IP'], res.entries.map((e) => [e.cidr, String(e.identity), e.hostIp || '-']));
}

/** Renders the datapath counters like `cilium bpf metrics list`. */
export function formatBpfMetrics(res: agent.BpfMetricsListResponse): string {
  return table(['REASON', 'DIRECTION', 'PACKETS', 'BYTES'], res.entries.map((e) => [e.reasonText, title(e.direction), String(e.packets), String(e.bytes)]));
}

/** Calls the agent's Bpf service on the command's connection. */
async function withBpf<T>(conn: AgentConnection, label: string, fn: (client: agent.BpfClient, deadline: number) => Promise<T>): Promise<T> {
  const client = createClient(agent.BpfClient, conn.target);
  try {
    return await conn.call(label, (deadline) => fn(client, deadline));
  } finally {
    client.close();
  }
}

/** `cilium bpf policy get <endpoint id> [-o json]`. */
export const bpfPolicyGetCommand = defineCommand({
  path: ['bpf', 'policy', 'get'],
  summary: "show an endpoint's policy map as the datapath sees it",
  positionals: 'ENDPOINT',
  flags: { ...hostFlag, ...outputFlag },
  async run(ctx, { values, positionals }) {
    expectPositionals(positionals, 1, 'one endpoint ID');
    const json = wantsJson(values.output);
    const endpointId = parseId(positionals[0], 'endpoint ID');
    const res = await withBpf(ctx.connect(values.host), 'Bpf.PolicyGet', (c, deadline) => unary(c, 'policyGet', { endpointId }, { deadline }));
    if (json) printJson(ctx.stdout, res);
    else ctx.stdout.write(formatBpfPolicy(res));
    return 0;
  },
});

/** `cilium bpf ct list [-o json]`. */
export const bpfCtListCommand = defineCommand({
  path: ['bpf', 'ct', 'list'],
  summary: 'list connection tracking entries',
  flags: { ...hostFlag, ...outputFlag },
  async run(ctx, { values, positionals }) {
    expectPositionals(positionals, 0, 'no arguments');
    const json = wantsJson(values.output);
    const res = await withBpf(ctx.connect(values.host), 'Bpf.CtList', (c, deadline) => unary(c, 'ctList', {}, { deadline }));
    if (json) printJson(ctx.stdout, res.entries);
    else ctx.stdout.write(formatBpfCt(res));
    return 0;
  },
});

/** `cilium bpf ipcache list [-o json]`. */
export const bpfIpcacheListCommand = defineCommand({
  path: ['bpf', 'ipcache', 'list'],
  summary: 'list the ipcache (IP / prefix -> identity)',
  flags: { ...hostFlag, ...outputFlag },
  async run(ctx, { values, positionals }) {
    expectPositionals(positionals, 0, 'no arguments');
    const json = wantsJson(values.output);
    const res = await withBpf(ctx.connect(values.host), 'Bpf.IpcacheList', (c, deadline) => unary(c, 'ipcacheList', {}, { deadline }));
    if (json) printJson(ctx.stdout, res.entries);
    else ctx.stdout.write(formatBpfIpcache(res));
    return 0;
  },
});

/** `cilium bpf metrics list [-o json]`. */
export const bpfMetricsListCommand = defineCommand({
  path: ['bpf', 'metrics', 'list'],
  summary: 'list forwarded / dropped packet counters by reason and direction',
  flags: { ...hostFlag, ...outputFlag },
  async run(ctx, { values, positionals }) {
    expectPositionals(positionals, 0, 'no arguments');
    const json = wantsJson(values.output);
    const res = await withBpf(ctx.connect(values.host), 'Bpf.MetricsList', (c, deadline) => unary(c, 'metricsList', {}, { deadline }));
    if (json) printJson(ctx.stdout, res.entries);
    else ctx.stdout.write(formatBpfMetrics(res));
    return 0;
  },
});

/** Every `cilium bpf` command, in help order. */
export const BPF_COMMANDS = [bpfPolicyGetCommand, bpfCtListCommand, bpfIpcacheListCommand, bpfMetricsListCommand] as const;
