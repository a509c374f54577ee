// Command-line parsing of `tools/lab`: pure, so it is tested without running anything.
import { LabUsageError } from './errors.js';
import { labNamePattern } from './layout.js';

/** `lab up`: build and start a lab. */
export interface UpOptions {
  command: 'up';
  name: string;
  nodes: number;
  traffic: boolean;
  policy: boolean;
  /** Pods get IPv6 addresses too (default; --ipv4-only turns it off). */
  ipv6: boolean;
  /** How pod traffic crosses nodes (the agents' --routing-mode): native (default) or tunnel (VXLAN). */
  routingMode: 'native' | 'tunnel';
  /** Tunnel mode: the family of the VXLAN outer header between nodes (the agents' --underlay-protocol). */
  underlay: 'ipv4' | 'ipv6';
  /** The relay serves TLS on its port (--relay-tls); default plaintext on loopback, as Cilium's Helm chart. */
  relayTls: boolean;
  /** How the daemons run: processes (default) or one podman container each (--runtime podman). */
  runtime: 'process' | 'podman';
  /** Container runtimes as clients (--runtimes): one podman container per node, networked by cilium-cni. */
  runtimes: boolean;
}

/** `lab status`: what is running. */
export interface StatusOptions {
  command: 'status';
  name: string;
  json: boolean;
}

/** `lab down`: remove everything of a lab. */
export interface DownOptions {
  command: 'down';
  name: string;
}

/** `lab check`: probe the demo's expected connectivity. */
export interface CheckOptions {
  command: 'check';
  name: string;
  json: boolean;
}

/** `lab bench`: a lab with many pods, measured. */
export interface BenchOptions {
  command: 'bench';
  name: string;
  nodes: number;
  pods: number;
  keep: boolean;
  json: boolean;
}

/** `lab help`. */
export interface HelpOptions {
  command: 'help';
}

/** One parsed invocation. */
export type LabOptions = UpOptions | StatusOptions | DownOptions | CheckOptions | BenchOptions | HelpOptions;

/** Usage text printed by `lab help`. */
export const usage = `Usage: tools/lab <command> [flags]

Commands:
  up     [--nodes N] [--name NAME] [--no-traffic] [--no-policy] [--ipv4-only]
         [--routing-mode native|tunnel] [--underlay ipv4|ipv6] [--relay-tls]
         [--runtime process|podman] [--runtimes]
         remove a previous lab of that name, then start etcd, operator, per node an agent
         and a hubble-server, the relay, and demo pods web/client/other on every node;
         dual-stack unless --ipv4-only (pods get 10.200.<n>.x and fd00:10:200::<n>xx);
         --routing-mode tunnel: nodes reach each other's pods through VXLAN (UDP 8472)
         carrying the source identity, instead of routes over the fabric (native);
         --underlay ipv6 (tunnel mode, dual-stack): VXLAN over the nodes' IPv6 addresses;
         etcd (TLS, client certificates) and hubble-servers (mTLS) only talk to holders of
         the lab's certificates (<run dir>/tls); the relay's port 127.0.0.1:4245 is
         plaintext on loopback unless --relay-tls (then TLS with the lab's Hubble CA);
         --runtime podman: operator, agents, hubble-servers and relay each in its own
         container from the images of "tools/images build" (missing images: it fails
         and names them); etcd stays a process;
         --runtimes: also one podman container (app=client, attached by podman through
         cilium-cni) and one Docker container (app=other, through cilium-docker and a
         private dockerd) per node; "check" probes from them too
  status [--name NAME] [--json]   services, pids, addresses and pods
  check  [--name NAME] [--json]   probe client->web:80 (allowed), client->web:8080 and
                                  other->web:80 (denied) on every node, over IPv4 and (in a
                                  dual-stack lab) IPv6; exit 1 on a mismatch
  down   [--name NAME]            stop and remove everything of the lab (idempotent)
  bench  [--nodes N] [--pods P] [--name NAME] [--keep] [--json]
         start a lab of N nodes (4) with P pods per node (50), then print time until all
         are ready, CNI ADD latency p50/p99, identity allocations per second against
         etcd, memory per agent and cross-node TCP throughput vs no programs; removes the
         lab afterwards unless --keep (default name: benchlab)

Defaults: --nodes 2, --name lab. Run as root.`;

const flagSpec: Record<string, Record<string, 'value' | 'bool'>> = {
  up: { '--nodes': 'value', '--name': 'value', '--no-traffic': 'bool', '--no-policy': 'bool', '--ipv4-only': 'bool', '--routing-mode': 'value', '--underlay': 'value', '--relay-tls': 'bool', '--runtime': 'value', '--runtimes': 'bool' },
  status: { '--name': 'value', '--json': 'bool' },
  check: { '--name': 'value', '--json': 'bool' },
  down: { '--name': 'value' },
  bench: { '--nodes': 'value', '--pods': 'value', '--name': 'value', '--keep': 'bool', '--json': 'bool' },
};

/** Parses argv (without node and script); throws LabUsageError on anything unknown. */
export function parseArgs(argv: readonly string[]): LabOptions {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    return { command: 'help' };
  }
  const spec = flagSpec[command];
  if (!spec) throw new LabUsageError(command, 'unknown command; expected up, status, check, down or bench');
  const values = new Map<string, string | true>();
  for (let k = 0; k < rest.length; k++) {
    let flag = rest[k]!;
    let inline: string | undefined;
    const eq = flag.indexOf('=');
    if (flag.startsWith('--') && eq > 0) {
      inline = flag.slice(eq + 1);
      flag = flag.slice(0, eq);
    }
    const kind = spec[flag];
    if (!kind) throw new LabUsageError(flag, `unknown flag for "${command}"`);
    if (kind === 'bool') {
      if (inline !== undefined) throw new LabUsageError(flag, 'takes no value');
      values.set(flag, true);
      continue;
    }
    const value = inline ?? rest[++k];
    if (value === undefined || value.startsWith('--')) throw new LabUsageError(flag, 'needs a value');
    values.set(flag, value);
  }
  const name = (values.get('--name') as string | undefined) ?? (command === 'bench' ? 'benchlab' : 'lab');
  if (!labNamePattern.test(name)) {
    throw new LabUsageError('--name', `"${name}" must match ${labNamePattern} (it becomes part of netns names)`);
  }
  switch (command) {
    case 'up': {
      const raw = (values.get('--nodes') as string | undefined) ?? '2';
      const nodes = Number(raw);
      if (!/^\d+$/.test(raw) || nodes < 1 || nodes > 9) {
        throw new LabUsageError('--nodes', `"${raw}" is not a whole number from 1 to 9`);
      }
      const routingMode = (values.get('--routing-mode') as string | undefined) ?? 'native';
      if (routingMode !== 'native' && routingMode !== 'tunnel') throw new LabUsageError('--routing-mode', `"${routingMode}" is not one of native, tunnel`);
      const underlay = (values.get('--underlay') as string | undefined) ?? 'ipv4';
      if (underlay !== 'ipv4' && underlay !== 'ipv6') throw new LabUsageError('--underlay', `"${underlay}" is not one of ipv4, ipv6`);
      if (underlay === 'ipv6' && routingMode !== 'tunnel') throw new LabUsageError('--underlay', 'ipv6 applies to tunnel mode: add --routing-mode tunnel');
      if (underlay === 'ipv6' && values.has('--ipv4-only')) throw new LabUsageError('--underlay', 'ipv6 needs the nodes\' IPv6 addresses: drop --ipv4-only');
      const runtime = (values.get('--runtime') as string | undefined) ?? 'process';
      if (runtime !== 'process' && runtime !== 'podman') throw new LabUsageError('--runtime', `"${runtime}" is not one of process, podman`);
      return { command, name, nodes, traffic: !values.has('--no-traffic'), policy: !values.has('--no-policy'), ipv6: !values.has('--ipv4-only'), routingMode, underlay, relayTls: values.has('--relay-tls'), runtime, runtimes: values.has('--runtimes') };
    }
    case 'bench': {
      const nodes = wholeNumber(values, '--nodes', '4', 1, 9);
      const pods = wholeNumber(values, '--pods', '50', 1, 250);
      return { command, name, nodes, pods, keep: values.has('--keep'), json: values.has('--json') };
    }
    case 'status':
    case 'check':
      return { command, name, json: values.has('--json') };
    default:
      return { command: 'down', name };
  }
}

// A whole-number flag within [min, max], or LabUsageError naming the flag.
function wholeNumber(values: Map<string, string | true>, flag: string, def: string, min: number, max: number): number {
  const raw = (values.get(flag) as string | undefined) ?? def;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max) throw new LabUsageError(flag, `"${raw}" is not a whole number from ${min} to ${max}`);
  return n;
}
