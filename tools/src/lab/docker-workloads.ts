// Docker containers as lab workloads (`lab up --runtimes`): one private dockerd per lab
// (docker-daemon.ts), one cilium-docker plugin per node (socket
// /run/docker/plugins/cts-<lab>-n<i>.sock, so the driver is `cts-<lab>-n<i>`; it talks to
// node i's agent and puts host veths into node i's namespace), one Docker network per node
// of that driver and IPAM driver, and the container started with `docker run --net`.
// The container's network namespace is bound under /run/netns as cts-<lab>-n<i>-docker, so
// `check` probes from it like from a pod and `down` removes it with the lab's namespaces.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { docker, type DockerDaemon, restartDockerd, startDockerd, stopDockerd } from './docker-daemon.js';
import { CommandFailedError, LabPreconditionError } from './errors.js';
import { run } from './exec.js';
import { appMain, type LabLayout } from './layout.js';
import type { WorkloadContainer } from './podman-workloads.js';
import { cmdlineOf, findLabProcesses, isAlive, spawnDetached, stopProcess } from './process.js';

/** Where Docker finds plugins by socket. */
const pluginDir = '/run/docker/plugins';

/** The lab's private dockerd directory. */
export function dockerDir(layout: LabLayout): string {
  return join(layout.runDir, 'docker');
}

/** The driver (and network) name of node i: its plugin socket is <pluginDir>/<name>.sock. */
export function dockerDriverName(layout: LabLayout, node: number): string {
  return layout.nodeNetns(node);
}

/** The plugin socket of node i. */
export function dockerPluginSocket(layout: LabLayout, node: number): string {
  return join(pluginDir, `${dockerDriverName(layout, node)}.sock`);
}

/** Starts the lab's dockerd, loads the workload image into it (from podman) and starts one cilium-docker per node. */
export async function startDockerSide(layout: LabLayout, nodes: number, image: string): Promise<DockerDaemon> {
  const d = await startDockerd(dockerDir(layout), layout.name);
  writeFileSync(join(d.dir, 'dockerd.pid'), String(d.pid));
  const load = await run(['sh', '-c', `podman save ${image} | ${'/usr/bin/docker'} -H unix://${d.socket} load`], { timeoutMs: 300_000 });
  if (load.code !== 0) throw new CommandFailedError(['podman', 'save', image, '|', 'docker', 'load'], load.code, load.stderr);
  mkdirSync(pluginDir, { recursive: true });
  for (let i = 1; i <= nodes; i++) {
    const sock = dockerPluginSocket(layout, i);
    const argv = [process.execPath, appMain('cilium-docker'), '--socket', sock, '--agent-socket', `unix://${layout.agentSocket(i)}`, '--docker-host', `unix://${d.socket}`, '--node-netns', layout.nodeNetns(i)];
    const logFile = layout.logFile(`cilium-docker-${layout.nodeName(i)}`);
    const pid = spawnDetached(argv, logFile, layout.name);
    for (let k = 0; k < 300 && !existsSync(sock) && isAlive(pid); k++) await new Promise((r) => setTimeout(r, 100));
    if (!existsSync(sock)) throw new LabPreconditionError(`cilium-docker ${layout.nodeName(i)}`, `did not listen on ${sock}${isAlive(pid) ? '' : ' (it exited)'}`, `see ${logFile}`);
    const net = dockerDriverName(layout, i);
    const r = await docker(d, ['network', 'create', '--driver', net, '--ipam-driver', net, net]);
    if (r.code !== 0) throw new CommandFailedError(['docker', 'network', 'create', '--driver', net, '--ipam-driver', net, net], r.code, r.stderr);
  }
  return d;
}

/**
 * Restarts the lab's dockerd on its state (live restore: the containers keep running, the
 * networks and endpoints stay; the plugins are found again by their sockets) and records
 * its new pid for `down`.
 */
export async function restartLabDockerd(layout: LabLayout): Promise<DockerDaemon> {
  const dir = dockerDir(layout);
  const pidFile = join(dir, 'dockerd.pid');
  const d = await restartDockerd({ dir, pid: Number(readFileSync(pidFile, 'utf8')) }, layout.name);
  writeFileSync(pidFile, String(d.pid));
  return d;
}

/** Starts a Docker container on node i's network with these labels; binds its netns as /run/netns/<name>. */
export async function runDockerWorkload(layout: LabLayout, d: Pick<DockerDaemon, 'socket'>, node: number, name: string, labels: Record<string, string>, image: string, workloadLabel: string): Promise<WorkloadContainer> {
  const args = ['run', '-d', '--name', name, '--net', dockerDriverName(layout, node), '--label', `${workloadLabel}=${layout.name}`, '--label', 'io.kubernetes.pod.namespace=default', ...Object.entries(labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]), image, 'sleep', 'infinity'];
  const r = await docker(d, args);
  if (r.code !== 0) throw new CommandFailedError(['docker', ...args], r.code, r.stderr || r.stdout);
  const id = r.stdout.trim().split('\n').at(-1)!;
  const ins = await docker(d, ['inspect', '--format', '{{json .NetworkSettings}}', id]);
  if (ins.code !== 0) throw new CommandFailedError(['docker', 'inspect', id], ins.code, ins.stderr);
  const ns = JSON.parse(ins.stdout) as { SandboxKey?: string; Networks?: Record<string, { IPAddress?: string; EndpointID?: string }> };
  const net = ns.Networks?.[dockerDriverName(layout, node)];
  if (!net?.IPAddress || !net.EndpointID || !ns.SandboxKey) throw new Error(`docker container ${name} has no address on ${dockerDriverName(layout, node)}: ${ins.stdout.slice(0, 300)}`);
  const bound = `/run/netns/${name}`;
  writeFileSync(bound, '');
  const mnt = await run(['mount', '--bind', ns.SandboxKey, bound]);
  if (mnt.code !== 0) throw new CommandFailedError(['mount', '--bind', ns.SandboxKey, bound], mnt.code, mnt.stderr);
  // The agent knows the endpoint by Docker's endpoint id (DeleteEndpoint carries only that).
  return { id: net.EndpointID, name, ip: net.IPAddress, ipv6: null, netns: name };
}

/**
 * Removes the lab's Docker side: its containers and networks (so cilium-docker deletes their
 * endpoints while the agents run), then the plugins and the dockerd with all its state.
 * Returns how many containers were removed.
 */
export async function removeDockerSide(layout: LabLayout, workloadLabel: string, warn: (msg: string) => void): Promise<number> {
  const dir = dockerDir(layout);
  const pidFile = join(dir, 'dockerd.pid');
  let removed = 0;
  const d = { socket: join(dir, 'docker.sock') };
  if (existsSync(d.socket)) {
    const ids = (await docker(d, ['ps', '-aq', '--filter', `label=${workloadLabel}=${layout.name}`])).stdout.split('\n').filter((l) => l.trim() !== '');
    if (ids.length > 0) {
      const rm = await docker(d, ['rm', '-f', ...ids]);
      if (rm.code !== 0) warn(`docker rm: ${rm.stderr.trim()}`);
      else removed = ids.length;
    }
    const nets = (await docker(d, ['network', 'ls', '-q', '--filter', `name=${layout.netnsPrefix}`])).stdout.split('\n').filter((l) => l.trim() !== '');
    if (nets.length > 0) {
      const rm = await docker(d, ['network', 'rm', ...nets]);
      if (rm.code !== 0) warn(`docker network rm: ${rm.stderr.trim()}`);
    }
  }
  for (const pid of findLabProcesses(layout.name)) {
    if (cmdlineOf(pid)?.includes(appMain('cilium-docker'))) await stopProcess(pid, appMain('cilium-docker'), 5000);
  }
  // A plugin killed after its grace period leaves its socket; the containers' bound netns
  // (runDockerWorkload) would keep their namespaces alive.
  for (const f of existsSync(pluginDir) ? readdirSync(pluginDir) : []) {
    if (f.startsWith(layout.netnsPrefix) && f.endsWith('.sock')) rmSync(join(pluginDir, f), { force: true });
  }
  for (const f of existsSync('/run/netns') ? readdirSync('/run/netns') : []) {
    if (f.startsWith(layout.netnsPrefix) && f.endsWith('-docker')) {
      await run(['umount', join('/run/netns', f)]);
      rmSync(join('/run/netns', f), { force: true });
    }
  }
  const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : 0;
  if (existsSync(dir)) await stopDockerd({ dir, pid });
  return removed;
}
