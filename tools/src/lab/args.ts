// Command-line parsing of `tools/lab`: pure, so it is tested without running anything.
import { defineFlags, FlagError } from '@cilium-ts/process';
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

const flag = (description: string, def?: string) => ({ type: 'string', default: def, description }) as const;
const bool = (description: string) => ({ type: 'boolean', description }) as const;
const strict = { strict: true } as const;
const name = (def: string) => flag('the lab\'s name', def);

/** Each command's flags (@cilium-ts/process, strict: the usage text above is the help). */
const commandFlags = {
  up: defineFlags({
    nodes: flag('nodes, 1 to 9', '2'), name: name('lab'), noTraffic: bool('no demo traffic'), noPolicy: bool('no demo policy'),
    ipv4Only: bool('no IPv6'), routingMode: flag('native or tunnel', 'native'), underlay: flag('ipv4 or ipv6', 'ipv4'),
    relayTls: bool('TLS on the relay port'), runtime: flag('process or podman', 'process'), runtimes: bool('podman and Docker containers as clients'),
  }, strict),
  status: defineFlags({ name: name('lab'), json: bool('JSON output') }, strict),
  check: defineFlags({ name: name('lab'), json: bool('JSON output') }, strict),
  down: defineFlags({ name: name('lab') }, strict),
  bench: defineFlags({ nodes: flag('nodes, 1 to 9', '4'), pods: flag('pods per node, 1 to 250', '50'), name: name('benchlab'), keep: bool('keep the lab'), json: bool('JSON output') }, strict),
};
type LabCommand = keyof typeof commandFlags;

/** Parses one command's flags; a command-line mistake is a LabUsageError naming the argument. */
function parseFlags<C extends LabCommand>(command: C, rest: readonly string[]): ReturnType<(typeof commandFlags)[C]['parse']>['values'] {
  try {
    return commandFlags[command].parse(rest, {}).values as ReturnType<(typeof commandFlags)[C]['parse']>['values'];
  } catch (err) {
    if (!(err instanceof FlagError)) throw err;
    const reason = { unknown: `unknown flag for "${command}"`, 'missing-value': 'needs a value', 'unexpected-value': 'takes no value', 'bad-value': err.message }[err.kind];
    throw new LabUsageError(err.flag, reason);
  }
}

/** Parses argv (without node and script); throws LabUsageError on anything unknown. */
export function parseArgs(argv: readonly string[]): LabOptions {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    return { command: 'help' };
  }
  if (!Object.hasOwn(commandFlags, command)) throw new LabUsageError(command, 'unknown command; expected up, status, check, down or bench');
  const labName = parseFlags(command as LabCommand, rest).name;
  if (!labNamePattern.test(labName)) {
    throw new LabUsageError('--name', `"${labName}" must match ${labNamePattern} (it becomes part of netns names)`);
  }
  switch (command) {
    case 'up': {
      const f = parseFlags('up', rest);
      const raw = f.nodes;
      const nodes = Number(raw);
      if (!/^\d+$/.test(raw) || nodes < 1 || nodes > 9) {
        throw new LabUsageError('--nodes', `"${raw}" is not a whole number from 1 to 9`);
      }
      const routingMode = f.routingMode;
      if (routingMode !== 'native' && routingMode !== 'tunnel') throw new LabUsageError('--routing-mode', `"${routingMode}" is not one of native, tunnel`);
      const underlay = f.underlay;
      if (underlay !== 'ipv4' && underlay !== 'ipv6') throw new LabUsageError('--underlay', `"${underlay}" is not one of ipv4, ipv6`);
      if (underlay === 'ipv6' && routingMode !== 'tunnel') throw new LabUsageError('--underlay', 'ipv6 applies to tunnel mode: add --routing-mode tunnel');
      if (underlay === 'ipv6' && f.ipv4Only) throw new LabUsageError('--underlay', 'ipv6 needs the nodes\' IPv6 addresses: drop --ipv4-only');
      const runtime = f.runtime;
      if (runtime !== 'process' && runtime !== 'podman') throw new LabUsageError('--runtime', `"${runtime}" is not one of process, podman`);
      // The agent reads a podman workload's labels with the podman command, which its image has not.
      if (runtime === 'podman' && f.runtimes) throw new LabUsageError('--runtimes', 'runs with the process runtime only (the agent image has no podman to read container labels with): drop --runtime podman or --runtimes');
      return { command, name: labName, nodes, traffic: !f.noTraffic, policy: !f.noPolicy, ipv6: !f.ipv4Only, routingMode, underlay, relayTls: f.relayTls, runtime, runtimes: f.runtimes };
    }
    case 'bench': {
      const f = parseFlags('bench', rest);
      const nodes = wholeNumber(f.nodes, '--nodes', 1, 9);
      const pods = wholeNumber(f.pods, '--pods', 1, 250);
      return { command, name: labName, nodes, pods, keep: f.keep, json: f.json };
    }
    case 'status':
    case 'check':
      return { command, name: labName, json: parseFlags(command, rest).json };
    default:
      return { command: 'down', name: labName };
  }
}

// A whole-number flag within [min, max], or LabUsageError naming the flag.
function wholeNumber(raw: string, flagName: string, min: number, max: number): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max) throw new LabUsageError(flagName, `"${raw}" is not a whole number from ${min} to ${max}`);
  return n;
}
