// The lab's podman runtime (`tools/lab up --runtime podman`): each daemon of service-spec.ts
// and ui-spec.ts runs in its own container from the image `tools/images build` made for it
// (localhost/cilium-ts/<app>:<version>), with the command line the process lab passes (the
// spec's argv after the script: the image's entry point is node and the script), in the
// machine's network namespace like the process lab's daemons (the agent enters its node
// namespace with --node-netns itself; the relay, the UI and the lab's tools reach every
// daemon on 127.0.0.1) but the proxy, which runs in its node's namespace as the process lab
// runs it through nsenter, and only the mounts and capabilities each needs. etcd stays a
// process.
import { chmodSync, chownSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabPreconditionError } from './errors.js';
import { run, runChecked } from './exec.js';
import { labEnvVar, type LabLayout, repoRoot } from './layout.js';
import { labCerts } from './lab-certs.js';
import type { ServiceSpec } from './service-spec.js';

/** How the lab runs its daemons. */
export type LabRuntime = 'process' | 'podman';

/** The podman command with the runtime that works on this machine (crun refuses its hybrid cgroups). */
export const podmanArgv: readonly string[] = ['podman', '--runtime', 'runc'];

/** Label on every container of a lab; its value is the lab name ("down" finds them by it). */
export const labLabel = 'io.cilium-ts.lab';
/** Label naming the container's service (agent-n1, operator, ...). */
export const serviceLabel = 'io.cilium-ts.service';
/** Label naming the container's role (agent, operator, proxy, hubble-server, hubble-relay, hubble-ui). */
export const roleLabel = 'io.cilium-ts.role';
/** The image label that records the source revision the image was built from (tools/images). */
export const revisionLabel = 'org.opencontainers.image.revision';

/** The uid the non-root images run as (deploy/containers/services.Containerfile). */
export const imageUid = 65532;

/** Role -> the image (and app) that runs it. */
export const roleImages = {
  operator: 'operator',
  agent: 'agent',
  proxy: 'proxy',
  'hubble-server': 'hubble-server',
  'hubble-relay': 'hubble-relay',
  'hubble-ui': 'hubble-ui',
} as const;

/** The agent's capabilities (deploy/containers/README.md names each and why); every other container has none but the proxy. */
export const agentCapabilities: readonly string[] = ['NET_ADMIN', 'SYS_ADMIN', 'BPF', 'PERFMON'];

/**
 * The proxy's capabilities: NET_ADMIN (TPROXY rules, policy route, IP_TRANSPARENT, SO_MARK),
 * BPF (the agent's pinned ipcache) and SYS_ADMIN, without which podman's seccomp profile
 * answers bpf() with EPERM (its rule for bpf names CAP_SYS_ADMIN only).
 */
export const proxyCapabilities: readonly string[] = ['NET_ADMIN', 'SYS_ADMIN', 'BPF'];

/** The version tag of the images: the workspace's package.json version (as tools/images tags them). */
export function imageVersion(): string {
  return (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Image reference of a role's service. */
export function imageOf(role: keyof typeof roleImages, version = imageVersion()): string {
  return `localhost/cilium-ts/${roleImages[role]}:${version}`;
}

/** Container name of a lab service: cts-<lab>-<service>. */
export function containerName(layout: LabLayout, service: string): string {
  return `cts-${layout.name}-${service}`;
}

/** The entry point path of an app inside its image (the argv match for "status" and "down"). */
export function imageAppMain(app: string): string {
  return `/app/apps/${app}/dist/main.js`;
}

const bind = (path: string, opts = 'rw'): string[] => ['-v', `${path}:${path}:${opts}`];

/** The service's own flags: its argv after the script (node, or nsenter ... node, come before it). */
export function serviceFlags(spec: ServiceSpec): string[] {
  const script = spec.cmdlineMatch ?? spec.argv[1]!;
  const k = spec.argv.indexOf(script);
  if (k < 0) throw new Error(`${spec.name}: its script ${script} is not in its command line`);
  return spec.argv.slice(k + 1);
}

/**
 * The `podman run` arguments (after `podman --runtime runc`) for one lab service: the same
 * flags as the process lab (serviceFlags), its log in spec.logFile (podman's k8s-file
 * format), labels for "down", and per role only what it needs:
 * - every one: the lab's certificates read-only, no capabilities but the agent's and the
 *   proxy's, no new privileges;
 * - agent (root): NET_ADMIN, SYS_ADMIN, BPF, PERFMON; writable /proc/sys; the machine's
 *   bpffs, /run/netns (rslave: pod namespaces made later appear inside) and its
 *   node's run directory (socket, state);
 * - proxy (root): its node's network namespace; NET_ADMIN, SYS_ADMIN, BPF; writable /proc/sys (it turns
 *   off early demux there); the machine's bpffs (the agent's pins) and its node's run
 *   directory (its socket, which the agent and hubble-server dial);
 * - hubble-server (65532, group 0): its node's run directory, for the agent's socket;
 * - operator (65532): `<run>/operator`, where it makes its socket;
 * - hubble-relay, hubble-ui (65532): nothing else.
 * `extraArgs` are appended to the service's flags (tests use it to make a service fail).
 */
export function containerRunArgs(layout: LabLayout, spec: ServiceSpec, extraArgs: readonly string[] = [], version = imageVersion()): string[] {
  if (spec.role === 'etcd') throw new Error(`${spec.role} runs as a process in the podman lab`);
  const node = spec.node;
  const roleMounts: string[] = [];
  const caps: string[] = ['--cap-drop', 'ALL'];
  const health: string[] = [];
  let network = 'host';
  switch (spec.role) {
    case 'agent':
      caps.push(...agentCapabilities.flatMap((c) => ['--cap-add', c]));
      roleMounts.push('--security-opt', 'unmask=/proc/sys', ...bind('/sys/fs/bpf'), ...bind('/run/netns', 'rslave'), ...bind(layout.nodeDir(node!)));
      health.push('--health-cmd', JSON.stringify(['node', '/app/tools/dist/images/health-probe.js', `unix://${layout.agentSocket(node!)}`]));
      break;
    case 'proxy':
      network = `ns:/run/netns/${layout.nodeNetns(node!)}`;
      caps.push(...proxyCapabilities.flatMap((c) => ['--cap-add', c]));
      roleMounts.push('--security-opt', 'unmask=/proc/sys', ...bind('/sys/fs/bpf'), ...bind(layout.nodeDir(node!)));
      health.push('--health-cmd', JSON.stringify(['node', '/app/tools/dist/images/health-probe.js', `unix://${layout.proxySocket(node!)}`]));
      break;
    case 'hubble-server':
      roleMounts.push(...bind(layout.nodeDir(node!)));
      // Its port serves mTLS only; the image's plaintext probe cannot pass there.
      health.push('--no-healthcheck');
      break;
    case 'operator':
      roleMounts.push(...bind(layout.operatorDir));
      health.push('--health-cmd', JSON.stringify(['node', '/app/tools/dist/images/health-probe.js', `unix://${layout.operatorSocket}`]));
      break;
    case 'hubble-relay':
      health.push(...(spec.argv.includes('--disable-server-tls')
        ? ['--health-cmd', JSON.stringify(['node', '/app/tools/dist/images/health-probe.js', layout.relayAddress])]
        : ['--no-healthcheck']));
      break;
    case 'hubble-ui':
      health.push('--health-cmd', JSON.stringify(['node', '/app/tools/dist/images/http-probe.js', `http://${spec.address}/healthz`]));
      break;
  }
  return [
    'run', '--detach', '--pull', 'never',
    '--name', containerName(layout, spec.name),
    '--label', `${labLabel}=${layout.name}`, '--label', `${serviceLabel}=${spec.name}`, '--label', `${roleLabel}=${spec.role}`,
    '--network', network,
    '--ulimit', 'nofile=20000:20000', '--ulimit', 'nproc=1000:1000',
    '--log-driver', 'k8s-file', '--log-opt', `path=${spec.logFile}`,
    '--env', `${labEnvVar}=${layout.name}`,
    '--security-opt', 'no-new-privileges',
    ...caps,
    ...bind(layout.tlsDir, 'ro'),
    ...roleMounts,
    ...health,
    imageOf(spec.role, version),
    ...serviceFlags(spec),
    ...extraArgs,
  ];
}

/**
 * Gives the non-root services what they read or write: the keys they present (owner the
 * images' uid, mode 0600; the etcd client key, which the agents present too, group root
 * and mode 0640: the agent runs as root without CAP_DAC_OVERRIDE) and the operator's socket
 * folder. Nobody else on the machine gains access.
 */
export function prepareNonRootAccess(layout: LabLayout): void {
  for (const name of [labCerts.etcdClient, labCerts.hubbleServer, labCerts.relayClient, labCerts.relayServer]) {
    const { keyFile } = layout.cert(name);
    if (!existsSync(keyFile)) continue;
    chownSync(keyFile, imageUid, 0);
    chmodSync(keyFile, name === labCerts.etcdClient ? 0o640 : 0o600);
  }
  chownSync(layout.operatorDir, imageUid, imageUid);
}

/** The images the podman lab needs, with the revision each was built from. */
export interface ImageCheck {
  missing: string[];
  /** Images built from another revision than the checkout: image -> its revision label. */
  stale: Array<{ image: string; revision: string }>;
  checkout: string;
}

/** Which service images are missing or were built from another source revision than the checkout's HEAD. */
export async function checkImages(version = imageVersion()): Promise<ImageCheck> {
  const checkout = (await run(['git', '-C', repoRoot, 'rev-parse', '--short=12', 'HEAD'])).stdout.trim();
  const out: ImageCheck = { missing: [], stale: [], checkout };
  for (const role of Object.keys(roleImages) as Array<keyof typeof roleImages>) {
    const image = imageOf(role, version);
    const r = await run([...podmanArgv, 'image', 'inspect', '--format', `{{index .Labels "${revisionLabel}"}}`, image]);
    if (r.code !== 0) {
      out.missing.push(image);
      continue;
    }
    const revision = r.stdout.trim();
    if (revision.replace(/-dirty$/, '') !== checkout) out.stale.push({ image, revision });
  }
  return out;
}

/** Fails (naming every missing image) unless podman runs and every service image exists; returns the check. */
export async function requireImages(): Promise<ImageCheck> {
  const version = await run([...podmanArgv, 'version', '--format', '{{.Client.Version}}']);
  if (version.code !== 0) {
    throw new LabPreconditionError('lab up --runtime podman', `podman does not run (${(version.stderr || version.stdout).trim().split('\n').at(-1)})`, 'install it with tools/container-base (or apt-get install podman runc)');
  }
  const check = await checkImages();
  if (check.missing.length > 0) {
    throw new LabPreconditionError(
      'lab up --runtime podman',
      `missing image${check.missing.length > 1 ? 's' : ''}: ${check.missing.join(', ')}`,
      'build them with "tools/images build" (a few minutes; the first build of the workspace stage takes about 15)',
    );
  }
  return check;
}

/** A started container: id and the host pid of its main process (0 when it already exited). */
export interface StartedContainer {
  id: string;
  name: string;
  image: string;
  pid: number;
}

/** Removes a container of that name left from an earlier run, then starts the service's container. */
export async function startContainer(layout: LabLayout, spec: ServiceSpec, extraArgs: readonly string[] = []): Promise<StartedContainer> {
  const name = containerName(layout, spec.name);
  await run([...podmanArgv, 'rm', '--force', '--time', '0', name]);
  const args = containerRunArgs(layout, spec, extraArgs);
  const id = (await runChecked([...podmanArgv, ...args], { timeoutMs: 120_000 })).trim().split('\n').at(-1)!;
  const pid = Number((await run([...podmanArgv, 'inspect', '--format', '{{.State.Pid}}', id])).stdout.trim()) || 0;
  return { id, name, image: imageOf(spec.role as keyof typeof roleImages), pid };
}

/** The last n lines a container printed (podman logs), '' when it is gone. */
export async function containerLogTail(idOrName: string, n = 15): Promise<string> {
  const r = await run([...podmanArgv, 'logs', '--tail', String(n), idOrName], { timeoutMs: 20_000 });
  return r.code === 0 ? `${r.stdout}${r.stderr}`.trimEnd() : '';
}

/** State of a container ("running", "exited (exit 1)", ...) or undefined when podman does not know it. */
export async function containerState(idOrName: string): Promise<string | undefined> {
  const r = await run([...podmanArgv, 'inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', idOrName], { timeoutMs: 20_000 });
  if (r.code !== 0) return undefined;
  const [status, code] = r.stdout.trim().split(' ');
  if (status === 'running') return 'running';
  // "stopped" is podman's state between the process's exit and its clean-up: both mean exited.
  return `${status === 'stopped' ? 'exited' : status} (exit ${code})`;
}

/** A lab container as podman lists it. */
export interface LabContainer {
  id: string;
  name: string;
  role: string;
}

/** Every container of lab `name` (any state), by label; [] when podman is not installed. */
export async function listLabContainers(name: string): Promise<LabContainer[]> {
  const r = await run([...podmanArgv, 'ps', '--all', '--no-trunc', '--filter', `label=${labLabel}=${name}`, '--format', `{{.ID}} {{.Names}} {{index .Labels "${roleLabel}"}}`], { timeoutMs: 30_000 });
  if (r.code !== 0) return [];
  return r.stdout.split('\n').filter((l) => l.trim()).map((l) => {
    const [id, cname, role] = l.trim().split(/\s+/);
    return { id: id!, name: cname!, role: role ?? '' };
  });
}

/** Stops (SIGTERM, SIGKILL after timeoutSec) and removes containers; returns the error text of a failure. */
export async function removeContainers(ids: readonly string[], timeoutSec = 5): Promise<string | undefined> {
  if (ids.length === 0) return undefined;
  const r = await run([...podmanArgv, 'rm', '--force', '--time', String(timeoutSec), ...ids], { timeoutMs: 120_000 });
  return r.code === 0 ? undefined : (r.stderr || r.stdout).trim();
}
