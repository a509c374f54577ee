// The lab's demo ClusterIP service: a VIP in front of the web pods of every node (port 80),
// created once through node 1's agent (`cilium service update`, stored cluster-wide in the
// kvstore) and served by every node's socket load balancer to the processes of its pods.
// Dual-stack labs get a second service with an IPv6 VIP in front of the pods' IPv6 addresses.
import { ciliumArgv } from './cilium-cli.js';
import { CommandFailedError, ServiceNotReadyError } from './errors.js';
import { run } from './exec.js';
import type { LabLayout } from './layout.js';
import type { LabState } from './state-file.js';

/** The demo service of one family: id, VIP, port and the web pods behind it. */
export interface DemoService {
  id: number;
  family: 4 | 6;
  vip: string;
  port: number;
  /** Backends as `IP:PORT` (`[IP]:PORT` for IPv6). */
  backends: string[];
  /** The names the backends' web servers answer with (`n<i>-web`). */
  backendNames: string[];
}

/** The VIPs: outside the pod CIDRs (10.200.0.0/16, fd00:10:200::/104), as Kubernetes' service range. */
export const demoVips = { 4: '10.96.0.10', 6: 'fd00:10:96::10' } as const;

/** The port the demo service listens on (the web pods' port 80). */
export const demoServicePort = 80;

const hostPort = (ip: string, port: number): string => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);

/** The demo services of a lab: IPv4 (id 1) and, dual-stack, IPv6 (id 2), over every node's web pod. */
export function demoServices(state: Pick<LabState, 'pods' | 'demo'>): DemoService[] {
  const webs = state.pods.filter((p) => p.name === 'web').sort((a, b) => a.node - b.node);
  const out: DemoService[] = [];
  for (const family of state.demo.ipv6 ? ([4, 6] as const) : ([4] as const)) {
    const pods = webs.filter((p) => (family === 4 ? p.ip : p.ipv6));
    out.push({
      id: family === 4 ? 1 : 2,
      family,
      vip: demoVips[family],
      port: demoServicePort,
      backends: pods.map((p) => hostPort((family === 4 ? p.ip : p.ipv6)!, demoServicePort)),
      backendNames: pods.map((p) => `n${p.node}-web`),
    });
  }
  return out;
}

/** The `cilium service update` arguments of a demo service. */
export function serviceUpdateArgs(s: DemoService): string[] {
  return ['service', 'update', '--id', String(s.id), '--frontend', hostPort(s.vip, s.port), '--backends', s.backends.join(','), '--name', 'web', '--namespace', 'default'];
}

/**
 * Creates the demo services through node 1's agent, then waits until every node's agent
 * serves them (the kvstore carries them to the others).
 */
export async function createDemoServices(layout: LabLayout, state: LabState): Promise<DemoService[]> {
  const services = demoServices(state);
  for (const s of services) {
    const argv = ciliumArgv(layout.agentSocket(1), ...serviceUpdateArgs(s));
    const r = await run(argv, { timeoutMs: 30_000 });
    if (r.code !== 0) throw new CommandFailedError(argv, r.code, r.stderr || r.stdout);
  }
  await waitServedEverywhere(layout, state, services.map((s) => s.id));
  return services;
}

/** Waits until every node's agent lists the services `ids` (the kvstore carries them from node 1). */
export async function waitServedEverywhere(layout: LabLayout, state: LabState, ids: readonly number[]): Promise<void> {
  for (const n of state.nodes) {
    let last = '';
    for (let k = 0; ; k++) {
      const argv = ciliumArgv(layout.agentSocket(n.index), 'service', 'list', '-o', 'json');
      const r = await run(argv, { timeoutMs: 30_000 });
      last = r.stderr || r.stdout;
      if (r.code === 0 && ids.every((id) => servedIds(r.stdout).has(id))) break;
      if (k >= 100) throw new ServiceNotReadyError(`demo service on ${n.name}`, `the agent does not list service(s) ${ids.join(', ')} after 10 s`, layout.logFile(`agent-${n.name}`), last.split('\n').slice(-5).join('\n'));
      await new Promise((res) => setTimeout(res, 100));
    }
  }
}

/** The ids in `cilium service list -o json` output. */
export function servedIds(json: string): Set<number> {
  try {
    const list = JSON.parse(json) as unknown;
    return new Set(Array.isArray(list) ? list.map((s: { id?: number }) => s.id ?? 0) : []);
  } catch {
    return new Set();
  }
}

/** A demo service as `lab status` shows it: what it should be and which nodes' agents serve it. */
export interface DemoServiceStatus {
  id: number;
  frontend: string;
  backends: string[];
  /** Nodes whose agent lists the service (`cilium service list`). */
  servedOn: string[];
}

/** Asks every node's agent which demo services it serves. */
export async function demoServiceStatus(layout: LabLayout, state: LabState): Promise<DemoServiceStatus[]> {
  const services = state.demo.service ? demoServices(state) : [];
  if (services.length === 0) return [];
  const served = await Promise.all(
    state.nodes.map(async (n) => {
      const r = await run(ciliumArgv(layout.agentSocket(n.index), 'service', 'list', '-o', 'json'), { timeoutMs: 10_000 });
      return { node: n.name, ids: r.code === 0 ? servedIds(r.stdout) : new Set<number>() };
    }),
  );
  return services.map((s) => ({
    id: s.id,
    frontend: hostPort(s.vip, s.port),
    backends: s.backends,
    servedOn: served.filter((x) => x.ids.has(s.id)).map((x) => x.node),
  }));
}
