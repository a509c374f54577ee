// Podman containers as lab workloads (`lab up --runtimes`): podman runs them through our CNI
// plugin, with a CNI configuration private to the lab (a containers.conf that CONTAINERS_CONF
// names: network_backend cni, the lab's plugin and network config directories), one
// network per node named after the node's namespace. The plugin runs in the machine's
// namespace, where podman starts it, and enters the node namespace itself (`node-netns`).
//
// Podman 4.3 passes CNI_ARGS `IgnoreUnknown=1;K8S_POD_NAME=<container name>` and
// `runtimeConfig` with only the capabilities it fills (aliases, portMappings, ips, mac): a
// container's `--label`s never reach the plugin. The agent reads them from podman once ADD
// has returned (apps/agent/src/runtime-labels.ts); meanwhile the endpoint is reserved:init,
// so a workload counts as started once its endpoint is ready. Its namespace is the label
// io.kubernetes.pod.namespace.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ciliumArgv } from './cilium-cli.js';
import { CommandFailedError } from './errors.js';
import { run, type RunResult } from './exec.js';
import { appMain, type LabLayout, repoRoot } from './layout.js';

/** The runtime label that puts a container in a namespace (as with cilium-docker). */
export const namespaceLabel = 'io.kubernetes.pod.namespace';

/** Label on every runtime workload of a lab (value: the lab name), so `down` finds them without state. */
export const workloadLabel = 'io.cilium-ts.lab-workload';

/** Podman's runc flags on this kind of machine (see MACHINE-NOTES: crun refuses hybrid cgroups; explicit ulimits). */
const podmanRunFlags = ['--ulimit', 'nofile=20000:20000', '--ulimit', 'nproc=1000:1000'];

/** Files of the lab's private podman network configuration. */
export function podmanConfPaths(layout: LabLayout): { dir: string; containersConf: string; netDir: string; binDir: string } {
  const dir = join(layout.runDir, 'podman');
  return { dir, containersConf: join(dir, 'containers.conf'), netDir: join(dir, 'net.d'), binDir: join(dir, 'cni-bin') };
}

/** The podman network of node i: its name is the node's namespace name. */
export function podmanNetworkName(layout: LabLayout, node: number): string {
  return layout.nodeNetns(node);
}

/** The conflist of node i's podman network: cilium-cni talking to node i's agent, host veths in node i's namespace. */
export function podmanConflist(layout: LabLayout, node: number, mtu = 0): Record<string, unknown> {
  return {
    cniVersion: '1.0.0',
    name: podmanNetworkName(layout, node),
    plugins: [
      {
        type: 'cilium-cni',
        'agent-socket': `unix://${layout.agentSocket(node)}`,
        'node-netns': layout.nodeNetns(node),
        runtime: 'podman',
        'log-file': layout.logFile(`cni-podman-${layout.nodeName(node)}`),
        ...(mtu > 0 ? { mtu } : {}),
      },
    ],
  };
}

/** Writes containers.conf, the plugin launcher and one conflist per node; returns podman's environment for them. */
export function writePodmanNetworks(layout: LabLayout, nodes: number, mtu = 0): NodeJS.ProcessEnv {
  const p = podmanConfPaths(layout);
  mkdirSync(p.netDir, { recursive: true, mode: 0o700 });
  mkdirSync(p.binDir, { recursive: true, mode: 0o700 });
  // podman execs plugins by file name from cni_plugin_dirs; this one runs the built plugin
  // with this machine's node (podman's PATH need not have it).
  const launcher = join(p.binDir, 'cilium-cni');
  writeFileSync(launcher, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(appMain('cni'))} "$@"\n`);
  chmodSync(launcher, 0o755);
  writeFileSync(
    p.containersConf,
    ['[network]', 'network_backend = "cni"', `cni_plugin_dirs = [${JSON.stringify(p.binDir)}]`, `network_config_dir = ${JSON.stringify(p.netDir)}`, ''].join('\n'),
  );
  for (let i = 1; i <= nodes; i++) {
    writeFileSync(join(p.netDir, `${podmanNetworkName(layout, i)}.conflist`), JSON.stringify(podmanConflist(layout, i, mtu), null, 2) + '\n');
  }
  return podmanEnv(layout);
}

/** The environment podman needs to use the lab's networks. */
export function podmanEnv(layout: LabLayout, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, CONTAINERS_CONF: podmanConfPaths(layout).containersConf, ...extra };
}

/** Runs `podman --runtime runc ARGS` with the lab's network configuration. */
export function podman(layout: LabLayout, args: readonly string[], extraEnv: NodeJS.ProcessEnv = {}, timeoutMs = 120_000): Promise<RunResult> {
  return run(['podman', '--runtime', 'runc', ...args], { env: podmanEnv(layout, extraEnv), timeoutMs });
}

/** The base image runtime workloads run (tools/container-base makes it once and caches it). */
export async function workloadImage(): Promise<string> {
  const argv = [join(repoRoot, 'tools', 'container-base'), 'debian-slim'];
  const r = await run(argv, { timeoutMs: 900_000 });
  if (r.code !== 0) throw new CommandFailedError(argv, r.code, r.stderr || r.stdout);
  return r.stdout.trim().split('\n').at(-1)!;
}

/** A started runtime container. */
export interface WorkloadContainer {
  id: string;
  name: string;
  ip: string;
  ipv6: string | null;
  /** Name of its network namespace under /run/netns (`ip netns exec` works in it). */
  netns: string;
}

/** The `podman run` arguments of a workload of node i in namespace `default` with these labels, running `command`. */
export function podmanRunArgs(layout: LabLayout, node: number, name: string, labels: Record<string, string>, image: string, command: readonly string[] = ['sleep', 'infinity']): string[] {
  const all = { [workloadLabel]: layout.name, [namespaceLabel]: 'default', ...labels };
  return ['run', '--name', name, '--network', podmanNetworkName(layout, node), ...Object.entries(all).flatMap(([k, v]) => ['--label', `${k}=${v}`]), ...podmanRunFlags, image, ...command];
}

/**
 * Starts a podman container in node i's network with these labels (sleeping); returns its
 * id, addresses and netns once its endpoint has the identity of its labels.
 */
export async function runPodmanWorkload(layout: LabLayout, node: number, name: string, labels: Record<string, string>, image: string): Promise<WorkloadContainer> {
  const args = podmanRunArgs(layout, node, name, labels, image);
  args.splice(1, 0, '-d');
  const r = await podman(layout, args);
  if (r.code !== 0) throw new CommandFailedError(['podman', ...args], r.code, r.stderr || r.stdout);
  const id = r.stdout.trim().split('\n').at(-1)!;
  await waitEndpointReady(layout, node, id);
  return inspectPodmanWorkload(layout, node, id, name);
}

/** An endpoint as `cilium endpoint list -o json` shows it (the fields the lab reads). */
export interface LabEndpoint {
  id: number;
  containerId: string;
  state: string;
  labels: string[];
  identity: number;
}

/** Waits (up to timeoutMs) until node i's agent has a ready endpoint for the container; returns it. */
export async function waitEndpointReady(layout: LabLayout, node: number, containerId: string, timeoutMs = 60_000): Promise<LabEndpoint> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no endpoint';
  for (;;) {
    const r = await run(ciliumArgv(layout.agentSocket(node), 'endpoint', 'list', '-o', 'json'), { timeoutMs: 30_000 });
    if (r.code === 0) {
      const ep = (JSON.parse(r.stdout) as LabEndpoint[]).find((e) => e.containerId === containerId);
      if (ep?.state === 'ready') return ep;
      if (ep) last = `state ${ep.state}, labels ${ep.labels.join(' ')}`;
    } else last = r.stderr.trim();
    if (Date.now() > deadline) throw new Error(`the endpoint of container ${containerId.slice(0, 12)} on node ${node} is not ready after ${timeoutMs} ms (${last}); see the agent's log (subsys runtime-labels)`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

async function inspectPodmanWorkload(layout: LabLayout, node: number, id: string, name: string): Promise<WorkloadContainer> {
  const argv = ['inspect', '--format', '{{json .NetworkSettings}}', id];
  const r = await podman(layout, argv);
  if (r.code !== 0) throw new CommandFailedError(['podman', ...argv], r.code, r.stderr);
  const ns = JSON.parse(r.stdout) as { SandboxKey?: string; Networks?: Record<string, { IPAddress?: string; GlobalIPv6Address?: string }> };
  const net = ns.Networks?.[podmanNetworkName(layout, node)];
  if (!net?.IPAddress || !ns.SandboxKey) throw new Error(`podman container ${name} has no address on ${podmanNetworkName(layout, node)}: ${r.stdout.slice(0, 300)}`);
  return { id, name, ip: net.IPAddress, ipv6: net.GlobalIPv6Address || null, netns: ns.SandboxKey.replace(/^\/run\/netns\//, '') };
}

/** Ids of the lab's podman workloads (by label, so also without a state file). */
export async function listPodmanWorkloads(layout: LabLayout): Promise<string[]> {
  const r = await podman(layout, ['ps', '-a', '--no-trunc', '--filter', `label=${workloadLabel}=${layout.name}`, '--format', '{{.ID}}']);
  return r.code === 0 ? r.stdout.split('\n').filter((l) => l.trim() !== '') : [];
}

/** Removes the lab's podman workloads (CNI DEL through the lab's configuration); returns how many, or throws with podman's error. */
export async function removePodmanWorkloads(layout: LabLayout): Promise<number> {
  const ids = await listPodmanWorkloads(layout);
  if (ids.length === 0) return 0;
  const r = await podman(layout, ['rm', '-f', '-t', '0', ...ids]);
  if (r.code !== 0) throw new CommandFailedError(['podman', 'rm', '-f', '-t', '0', ...ids], r.code, r.stderr || r.stdout);
  return ids.length;
}
