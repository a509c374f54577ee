// `lab status`: every service (pid, alive, address reachable from the machine's own
// namespace), the relay address and the pods.
import type { StatusOptions } from './args.js';
import { type DemoServiceStatus, demoServiceStatus } from './demo-service.js';
import { LabLayout } from './layout.js';
import { listNetns } from './netns.js';
import { isAlive } from './process.js';
import { canConnect } from './readiness.js';
import { type LabState, readState } from './state-file.js';

/** One service line of the status. */
export interface ServiceStatus {
  name: string;
  role: string;
  node?: number;
  pid: number | null;
  /** The podman container running it (--runtime podman): full id and name. */
  containerId?: string;
  container?: string;
  alive: boolean;
  address: string;
  reachable: boolean;
  logFile: string;
}

/** The status report (also the --json output). */
export interface LabStatus {
  name: string;
  runDir: string;
  /** How the daemons run: process or podman. */
  runtime: 'process' | 'podman';
  relay: { address: string; reachable: boolean };
  nodes: LabState['nodes'];
  services: ServiceStatus[];
  /** The demo ClusterIP service(s) and the nodes serving them (absent: the lab has none). */
  loadBalancing?: DemoServiceStatus[];
  pods: { name: string; node: number; netns: string; ip: string | null; ipv6?: string | null; labels: Record<string, string>; processes: { kind: string; pid: number; alive: boolean }[] }[];
}

/** Checks whether an address ("unix:///path" or "host:port") accepts connections. */
export function addressReachable(address: string): Promise<boolean> {
  if (address.startsWith('unix://')) return canConnect({ path: address.slice('unix://'.length) });
  const k = address.lastIndexOf(':');
  return canConnect({ host: address.slice(0, k), port: Number(address.slice(k + 1)) });
}

/** Collects the status of lab `name`; undefined when it has no state file. */
export async function collectStatus(name: string): Promise<LabStatus | undefined> {
  const layout = new LabLayout(name);
  const state = readState(layout.stateFile);
  if (!state) return undefined;
  const services = await Promise.all(
    state.services.map(async (s): Promise<ServiceStatus> => ({
      name: s.name,
      role: s.role,
      ...(s.node === undefined ? {} : { node: s.node }),
      pid: s.pid,
      ...(s.container ? { containerId: s.container.id, container: s.container.name } : {}),
      alive: isAlive(s.pid, s.cmdlineMatch),
      address: s.address,
      reachable: await addressReachable(s.address),
      logFile: s.logFile,
    })),
  );
  return {
    name,
    runDir: state.runDir,
    runtime: state.runtime ?? 'process',
    relay: { address: state.relayAddress, reachable: await addressReachable(state.relayAddress) },
    nodes: state.nodes,
    services,
    ...(state.demo?.service ? { loadBalancing: await demoServiceStatus(layout, state) } : {}),
    pods: state.pods.map((p) => ({
      name: p.name,
      node: p.node,
      netns: p.netns,
      ip: p.ip,
      ipv6: p.ipv6 ?? null,
      labels: p.labels,
      processes: p.processes.map((x) => ({ kind: x.kind, pid: x.pid, alive: isAlive(x.pid, x.cmdlineMatch) })),
    })),
  };
}

/** Formats rows as a left-aligned text table. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: readonly string[]): string => r.map((v, c) => v.padEnd(widths[c]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** Prints the status; returns the exit code (1 when there is no such lab). */
export async function labStatus(o: StatusOptions): Promise<number> {
  const st = await collectStatus(o.name);
  if (!st) {
    const leftovers = listNetns(new LabLayout(o.name).netnsPrefix);
    const msg = `no lab "${o.name}" is running (no ${new LabLayout(o.name).stateFile})` +
      (leftovers.length ? `; leftover namespaces: ${leftovers.join(' ')} (tools/lab down --name ${o.name})` : '');
    if (o.json) process.stdout.write(JSON.stringify({ name: o.name, running: false, leftovers }) + '\n');
    else process.stderr.write(msg + '\n');
    return 1;
  }
  if (o.json) {
    process.stdout.write(JSON.stringify(st, null, 2) + '\n');
    return 0;
  }
  const yes = (b: boolean): string => (b ? 'yes' : 'NO');
  const out = [
    `Lab "${st.name}" (${st.runDir}, daemons as ${st.runtime === 'podman' ? 'podman containers' : 'processes'})`,
    '',
    formatTable(
      ['SERVICE', 'PID', ...(st.runtime === 'podman' ? ['CONTAINER'] : []), 'ALIVE', 'ADDRESS', 'REACHABLE'],
      st.services.map((s) => [s.name, String(s.pid ?? '-'), ...(st.runtime === 'podman' ? [s.containerId?.slice(0, 12) ?? '-'] : []), yes(s.alive), s.address, yes(s.reachable)]),
    ),
    '',
    `Relay: ${st.relay.address} (${st.relay.reachable ? 'reachable' : 'NOT reachable'})`,
    '',
    ...(st.loadBalancing
      ? [
          formatTable(
            ['LB SERVICE', 'FRONTEND', 'TYPE', 'BACKENDS', 'SERVED ON'],
            st.loadBalancing.map((s) => [String(s.id), s.frontend, 'ClusterIP', s.backends.join(' '), s.servedOn.join(',') || 'NONE']),
          ),
          '',
        ]
      : []),
    formatTable(
      ['POD', 'NODE', 'IP', 'IPV6', 'LABELS', 'PROCESSES'],
      st.pods.map((p) => [
        p.name,
        `n${p.node}`,
        p.ip ?? '-',
        p.ipv6 ?? '-',
        Object.entries(p.labels).map(([k, v]) => `${k}=${v}`).join(','),
        p.processes.map((x) => `${x.kind}:${x.pid}${x.alive ? '' : '(dead)'}`).join(' ') || '-',
      ]),
    ),
  ];
  process.stdout.write(out.join('\n') + '\n');
  return 0;
}
