// cilium service update | list | get | delete, and cilium bpf lb list: the cluster's
// load-balancing services and this node's LB maps, through the agent's LoadBalancer and
// BpfLb services (lb.proto). Output shaped as upstream's.
import { lb } from '@cilium-ts/api';
import { createClient, unary } from '@cilium-ts/grpc';
import type { AgentConnection } from '../agent-connection.js';
import { CliError, formatTable, printJson } from '../cli-context.js';
import { defineCommand, expectPositionals, hostFlag, outputFlag, parseId, wantsJson } from '../command.js';

/** `IP:PORT` or `[IPv6]:PORT` into its parts (the agent validates the values). */
export function parseAddress(raw: string, flag: string): { ip: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(raw) ?? /^([^:[\]]+):(\d+)$/.exec(raw);
  if (!m) throw new CliError(`${flag} "${raw}" is not IP:PORT (IPv6 as [IP]:PORT)`, 2);
  return { ip: m[1]!, port: Number(m[2]) };
}

const addr = (a: { ip: string; port: number } | undefined): string => (!a ? '-' : a.ip.includes(':') ? `[${a.ip}]:${a.port}` : `${a.ip}:${a.port}`);
const addrProto = (a: lb.LbAddress | undefined): string => (a ? `${addr(a)}/${a.protocol}` : '-');

/** Renders services like upstream `cilium service list`: one line per backend. */
export function formatServices(services: lb.LbService[]): string {
  const rows: string[][] = [];
  for (const s of services) {
    const head = [String(s.id), addrProto(s.frontend), serviceTypeText(s)];
    if (s.backends.length === 0) rows.push([...head, '']);
    s.backends.forEach((b, i) => {
      const line = `${i + 1} => ${addr(b)}/${s.frontend?.protocol ?? 'TCP'} (${b.state})${b.weight !== 1 ? ` weight ${b.weight}` : ''}`;
      rows.push(i === 0 ? [...head, line] : ['', '', '', line]);
    });
  }
  return formatTable(['ID', 'Frontend', 'Service Type', 'Backend'], rows);
}

/** The Service Type column as upstream prints its service flags: `NodePort, Local, sessionAffinity`. */
export function serviceTypeText(s: Pick<lb.LbService, 'type' | 'trafficPolicy' | 'sessionAffinityTimeoutSeconds'>): string {
  return [s.type, s.trafficPolicy === 'Local' ? 'Local' : '', s.sessionAffinityTimeoutSeconds ? 'sessionAffinity' : ''].filter(Boolean).join(', ');
}

/** Renders the LB maps like upstream `cilium bpf lb list` (default, --revnat, --backends). */
export function formatBpfLb(res: lb.BpfLbListResponse, view: 'services' | 'revnat' | 'backends'): string {
  if (view === 'revnat') return formatTable(['ID', 'BACKEND ADDRESS (REVNAT_ID) (SLOT)'], res.revNat.map((r) => [String(r.id), addr(r.address)]));
  if (view === 'backends') return formatTable(['BACKEND ID', 'BACKEND ADDRESS', 'STATE'], res.backends.map((b) => [String(b.id), addrProto(b.address), b.state]));
  const backends = new Map(res.backends.map((b) => [b.id, b]));
  const rows = res.services.map((e) => {
    const svc = `${addrProto(e.frontend)} (${e.slot})`;
    if (e.slot === 0) return [svc, `0.0.0.0:0 (${e.revNatId}) (0) [${e.flags}]`];
    return [svc, `${addr(backends.get(e.backendId)?.address)} (${e.revNatId}) (${e.slot})`];
  });
  return formatTable(['SERVICE ADDRESS', 'BACKEND ADDRESS (REVNAT_ID) (SLOT)'], rows);
}

async function withLb<T>(conn: AgentConnection, label: string, fn: (c: lb.LoadBalancerClient, deadline: number) => Promise<T>): Promise<T> {
  const client = createClient(lb.LoadBalancerClient, conn.target);
  try {
    return await conn.call(label, (deadline) => fn(client, deadline));
  } finally {
    client.close();
  }
}

/** `cilium service update --id N --frontend IP:PORT --backends IP:PORT,... [...]`. */
export const serviceUpdateCommand = defineCommand({
  path: ['service', 'update'],
  summary: 'create or update a load-balancing service (cluster-wide)',
  flags: {
    ...hostFlag,
    ...outputFlag,
    id: { type: 'number', description: 'service id (1-65535)' },
    frontend: { type: 'string', description: 'frontend address IP:PORT' },
    backends: { type: 'string[]', description: 'backend addresses IP:PORT (comma-separated or repeated)' },
    states: { type: 'string[]', description: 'backend states: one for all, or one per backend (active, terminating, quarantined, maintenance)' },
    backendWeights: { type: 'string[]', description: 'backend weights: one for all, or one per backend (default 1)' },
    protocol: { type: 'string', default: 'TCP', description: 'frontend protocol: TCP, UDP or SCTP' },
    k8sNodePort: { type: 'boolean', description: 'the service is a NodePort' },
    k8sExternal: { type: 'boolean', description: 'the service is an ExternalIPs service' },
    k8sLoadBalancer: { type: 'boolean', description: 'the service is a LoadBalancer' },
    k8sTrafficPolicy: { type: 'string', default: 'Cluster', description: 'traffic policy: Cluster or Local' },
    sessionAffinityTimeout: { type: 'number', description: 'client-IP session affinity timeout in seconds (0: none)' },
    name: { type: 'string', description: 'service name' },
    namespace: { type: 'string', description: 'service namespace' },
  },
  async run(ctx, { values, positionals }) {
    expectPositionals(positionals, 0, 'no arguments');
    const json = wantsJson(values.output);
    if (!values.id) throw new CliError('--id is required; see --help', 2);
    if (!values.frontend) throw new CliError('--frontend is required; see --help', 2);
    const types = [values.k8sNodePort && 'NodePort', values.k8sExternal && 'ExternalIPs', values.k8sLoadBalancer && 'LoadBalancer'].filter((t): t is string => !!t);
    if (types.length > 1) throw new CliError('give at most one of --k8s-node-port, --k8s-external, --k8s-load-balancer', 2);
    const backends = values.backends.map((b) => parseAddress(b, '--backends'));
    const perBackend = (list: string[], flag: string): Array<string | undefined> => {
      if (list.length > 1 && list.length !== backends.length) throw new CliError(`${flag}: give one value for all backends or one per backend (${backends.length})`, 2);
      return backends.map((_, i) => list[list.length === 1 ? 0 : i]);
    };
    const states = perBackend(values.states, '--states');
    const weights = perBackend(values.backendWeights, '--backend-weights').map((w) => {
      if (w === undefined) return 0;
      if (!/^\d+$/.test(w)) throw new CliError(`--backend-weights: "${w}" is not a number`, 2);
      return Number(w);
    });
    const service = lb.LbService.fromPartial({
      id: values.id,
      frontend: { ...parseAddress(values.frontend, '--frontend'), protocol: values.protocol },
      type: types[0] ?? 'ClusterIP',
      backends: backends.map((b, i) => ({ ...b, state: states[i] ?? '', weight: weights[i] })),
      trafficPolicy: values.k8sTrafficPolicy,
      sessionAffinityTimeoutSeconds: values.sessionAffinityTimeout,
      name: values.name,
      namespace: values.namespace,
    });
    const res = await withLb(ctx.connect(values.host), 'LoadBalancer.UpdateService', (c, deadline) => unary(c, 'updateService', { service }, { deadline }));
    if (json) printJson(ctx.stdout, res);
    else ctx.stdout.write(`Updated service ${res.id} (${addrProto(res.frontend)}, ${res.backends.length} backend(s))\n`);
    return 0;
  },
});

/** `cilium service list [-o json]`. */
export const serviceListCommand = defineCommand({
  path: ['service', 'list'],
  summary: 'list the load-balancing services',
  flags: { ...hostFlag, ...outputFlag },
  async run(ctx, { values, positionals }) {
    expectPositionals(positionals, 0, 'no arguments');
    const json = wantsJson(values.output);
    const res = await withLb(ctx.connect(values.host), 'LoadBalancer.ListServices', (c, deadline) => unary(c, 'listServices', {}, { deadline }));
    if (json) printJson(ctx.stdout, res.services);
    else ctx.stdout.write(formatServices(res.services));
    return 0;
  },
});

/** `cilium service get ID [-o json]`. */
export const serviceGetCommand = defineCommand({
  path: ['service', 'get'],
  summary: 'show one load-balancing service',
  positionals: 'ID',
  flags: { ...hostFlag, ...outputFlag },
  async run(ctx, { values, positionals }) {
    expectPositionals(positionals, 1, 'one service ID');
    const json = wantsJson(values.output);
    const id = parseId(positionals[0], 'service ID');
    const res = await withLb(ctx.connect(values.host), 'LoadBalancer.GetService', (c, deadline) => unary(c, 'getService', { id }, { deadline }));
    if (json) printJson(ctx.stdout, res);
    else ctx.stdout.write(formatServices([res]));
    return 0;
  },
});

/** `cilium service delete ID | --all`. */
export const serviceDeleteCommand = defineCommand({
  path: ['service', 'delete'],
  summary: 'delete a load-balancing service, or every one with --all',
  positionals: 'ID',
  flags: { ...hostFlag, all: { type: 'boolean', description: 'delete every service' } },
  async run(ctx, { values, positionals }) {
    if (values.all === (positionals.length > 0) || positionals.length > 1) throw new CliError('give either one service ID or --all; see --help', 2);
    const id = values.all ? 0 : parseId(positionals[0], 'service ID');
    const res = await withLb(ctx.connect(values.host), 'LoadBalancer.DeleteService', (c, deadline) => unary(c, 'deleteService', { id, all: values.all }, { deadline }));
    ctx.stdout.write(values.all ? `Deleted ${res.deleted} service(s)\n` : `Service ${id} deleted\n`);
    return 0;
  },
});

/** `cilium bpf lb list [--revnat|--backends] [-o json]`. */
export const bpfLbListCommand = defineCommand({
  path: ['bpf', 'lb', 'list'],
  summary: "list this node's load-balancing maps (services, --backends, --revnat)",
  flags: { ...hostFlag, ...outputFlag, revnat: { type: 'boolean', description: 'list reverse NAT entries' }, backends: { type: 'boolean', description: 'list backend entries' } },
  async run(ctx, { values, positionals }) {
    expectPositionals(positionals, 0, 'no arguments');
    if (values.revnat && values.backends) throw new CliError('give at most one of --revnat, --backends', 2);
    const json = wantsJson(values.output);
    const conn = ctx.connect(values.host);
    const client = createClient(lb.BpfLbClient, conn.target);
    try {
      const res = await conn.call('BpfLb.List', (deadline) => unary(client, 'list', {}, { deadline }));
      const view = values.revnat ? 'revnat' : values.backends ? 'backends' : 'services';
      if (json) printJson(ctx.stdout, view === 'revnat' ? res.revNat : view === 'backends' ? res.backends : res.services);
      else ctx.stdout.write(formatBpfLb(res, view));
    } finally {
      client.close();
    }
    return 0;
  },
});

/** Every service command, in help order. */
export const SERVICE_COMMANDS = [serviceUpdateCommand, serviceListCommand, serviceGetCommand, serviceDeleteCommand, bpfLbListCommand];
