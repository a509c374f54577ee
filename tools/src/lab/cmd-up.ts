// `lab up`: remove a previous lab of the same name, then start etcd, operator, per node an
// agent and a hubble-server, the relay, the demo pods and the demo policy.
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import type { UpOptions } from './args.js';
import { labDown } from './cmd-down.js';
import { importClusterPolicy, waitPolicyEverywhere } from './policy-sync.js';
import { containerLogTail, containerState, imageAppMain, prepareNonRootAccess, requireImages, roleImages, startContainer } from './container-runtime.js';
import { LabPreconditionError, ServiceNotReadyError } from './errors.js';
import { startEtcd } from './etcd.js';
import { labCerts, makeLabCerts, relayTlsName } from './lab-certs.js';
import { run } from './exec.js';
import { appMain, bpfRoot, demoPods, demoPolicyFile, demoProgram, LabLayout, ports } from './layout.js';
import { createDemoNodePort, createExternalClient } from './demo-nodeport.js';
import { createDemoServices, demoServices } from './demo-service.js';
import { createNetns } from './netns.js';
import { addNodeAddress, createFabric } from './node-wiring.js';
import { createNodeCgroup, nodeCgroupDir, withPodCgroup } from './pod-cgroup.js';
import { createPod, startTraffic, startWebServer } from './pods.js';
import { runtimePolicyFile, startRuntimeWorkloads } from './runtime-workloads.js';
import { logDirMode, spawnDetached } from './process.js';
import { Progress } from './progress.js';
import { canConnect, waitReady } from './readiness.js';
import { daemonSpecs, type ServiceSpec } from './service-spec.js';
import { uiSpec, uiUrl } from './ui-spec.js';
import { type LabState, newState, type ServiceRecord, upsertPod, upsertService, writeState } from './state-file.js';

/** Apps whose dist/main.js the lab runs. */
export const requiredApps = ['operator', 'agent', 'proxy', 'hubble-server', 'hubble-relay', 'hubble-ui', 'cni', 'cilium-cli'] as const;

/** VXLAN overhead over an IPv4 underlay (outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14 bytes). */
export const VXLAN_OVERHEAD = 50;

/** VXLAN overhead over an IPv6 underlay (the outer IPv6 header is 40 bytes). */
export const VXLAN_OVERHEAD_IPV6 = 70;

/** MTU of pods' veths: in tunnel mode the fabric's 1500 less the VXLAN overhead of the underlay, so nothing is fragmented; else the default. */
export function podMtu(o: Pick<UpOptions, 'routingMode'> & Partial<Pick<UpOptions, 'underlay'>>): number {
  if (o.routingMode !== 'tunnel') return 0;
  return 1500 - (o.underlay === 'ipv6' ? VXLAN_OVERHEAD_IPV6 : VXLAN_OVERHEAD);
}

/** Number of progress steps of an "up". */
export function upStepCount(o: Pick<UpOptions, 'nodes' | 'policy'> & Partial<Pick<UpOptions, 'runtimes' | 'runtime'>>): number {
  // namespaces, etcd, operator, 3 per node (agent, proxy, hubble-server), relay, UI, pods per node, policy, runtimes, demo service
  return 1 + 1 + 1 + 3 * o.nodes + 1 + 1 + o.nodes + (o.policy ? 1 : 0) + (o.runtimes ? 1 : 0) + (withService(o) ? 1 : 0);
}

/**
 * Whether the lab runs the demo ClusterIP service: with process daemons (the agents attach
 * their socket load balancer to the nodes' pod cgroups); not yet in podman containers.
 */
export function withService(o: Partial<Pick<UpOptions, 'runtime'>>): boolean {
  return o.runtime !== 'podman';
}

/**
 * Nodes whose web pod the traffic generators of node i hit: their own and up to two
 * others (the next ones in a ring), so every cross-node path carries traffic in a lab of
 * up to three nodes and the process count stays bounded in bigger ones.
 */
export function trafficTargets(i: number, nodes: number): number[] {
  const out: number[] = [];
  for (let k = 0; k < Math.min(nodes, 3); k++) out.push(((i - 1 + k) % nodes) + 1);
  return out;
}

/** TCP ports an N-node lab listens on. */
export function labTcpPorts(nodes: number): number[] {
  const out: number[] = [ports.etcdClient, ports.etcdPeer, ports.relay, ports.hubbleUi, ports.operatorMetrics, ports.relayMetrics];
  for (let i = 1; i <= nodes; i++) out.push(ports.hubbleServer(i), ports.agentMetrics(i), ports.hubbleMetrics(i));
  return out;
}

/**
 * Test hook: CTS_LAB_TEST_EXTRA_ARGS='{"<service>": ["--flag", ...]}' appends flags to a
 * service's command line (the e2e tests make a daemon exit at start with it).
 */
export const testExtraArgsVar = 'CTS_LAB_TEST_EXTRA_ARGS';

/** The extra flags of service `name` from the test hook (none when unset). */
export function testExtraArgs(name: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const raw = env[testExtraArgsVar];
  if (!raw) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new LabPreconditionError(`lab up: ${testExtraArgsVar}`, `not JSON: ${raw}`, 'give {"<service>": ["--flag", ...]}');
  }
  const args = (parsed as Record<string, unknown>)[name];
  if (args === undefined) return [];
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) {
    throw new LabPreconditionError(`lab up: ${testExtraArgsVar}`, `"${name}" is not a list of strings`, 'give {"<service>": ["--flag", ...]}');
  }
  return args as string[];
}

async function checkPreconditions(o: UpOptions): Promise<void> {
  if (o.runtime === 'podman') {
    // Before anything starts: a missing image fails here, naming it (tools/images build makes them).
    const images = await requireImages();
    for (const s of images.stale) {
      process.stderr.write(`  note: ${s.image} was built from revision ${s.revision || '(none)'}, the checkout is ${images.checkout}; "tools/images build" rebuilds it\n`);
    }
  }
  const missing = [...requiredApps.map(appMain), demoProgram('http-server'), demoProgram('traffic')].filter((p) => !existsSync(p));
  if (missing.length > 0) {
    throw new LabPreconditionError('lab up', `not built: ${missing.join(', ')}`, 'run tools/setup (or npm run build) first');
  }
  for (const port of labTcpPorts(o.nodes)) {
    if (await canConnect({ host: '127.0.0.1', port }, 500)) {
      const who = await run(['ss', '-Hltnp', `sport = :${port}`]);
      throw new LabPreconditionError(
        `lab up: port 127.0.0.1:${port}`,
        `already in use${who.stdout.trim() ? ` (${who.stdout.trim().replace(/\s+/g, ' ')})` : ''}`,
        'another lab (tools/lab status --name ...) or daemon holds it; stop it first',
      );
    }
  }
}

/** Starts a lab and leaves it running; prints progress to stderr and (unless summary is false) a summary to stdout. */
export async function labUp(o: UpOptions, out: { summary?: boolean } = {}): Promise<void> {
  const layout = new LabLayout(o.name);
  await labDown(o.name, (l) => process.stderr.write(`  cleanup: ${l}\n`));
  await checkPreconditions(o);
  const progress = new Progress(upStepCount(o));
  const service = withService(o);
  mkdirSync(layout.logDir, { recursive: true, mode: logDirMode });
  chmodSync(layout.logDir, logDirMode);
  mkdirSync(bpfRoot, { recursive: true });
  mkdirSync(layout.operatorDir, { recursive: true, mode: 0o700 });
  const state = newState(o.name, layout.runDir, layout.relayAddress, { policy: o.policy, traffic: o.traffic, ipv6: o.ipv6, service });
  state.runtime = o.runtime;
  const save = (): void => writeState(layout.stateFile, state);
  save();

  await progress.run(`node namespaces (${o.nodes}) and fabric`, async () => {
    await createNetns(layout.fabricNetns);
    await createFabric(layout);
    for (let i = 1; i <= o.nodes; i++) {
      await createNetns(layout.nodeNetns(i));
      await addNodeAddress(layout, i, o.ipv6);
      if (service) createNodeCgroup(layout, i);
      mkdirSync(`${layout.nodeDir(i)}/state`, { recursive: true, mode: 0o755 });
      state.nodes.push({ index: i, name: layout.nodeName(i), netns: layout.nodeNetns(i), ip: layout.nodeIp(i), ...(o.ipv6 ? { ipv6: layout.nodeIpv6(i) } : {}) });
    }
    save();
  }, () => state.nodes.map((n) => `${n.netns}=${n.ip}${n.ipv6 ? `,${n.ipv6}` : ''}`).join(' '));

  await progress.run('certificates and etcd (TLS, client certificates required)', async () => {
    makeLabCerts(layout);
    if (o.runtime === 'podman') prepareNonRootAccess(layout);
    upsertService(state, await startEtcd(layout));
    save();
  });

  // The UI last: it reads the relay (ui-spec.ts); both runtimes print its address.
  for (const spec of [...daemonSpecs(layout, o.nodes, o.ipv6, o.routingMode, o.underlay, o.relayTls), uiSpec(layout, o.relayTls)]) {
    const label = spec.node === undefined ? spec.name : `${spec.role} ${layout.nodeName(spec.node)}`;
    const ui = spec.role === 'hubble-ui' ? `, ${uiUrl()}` : '';
    await progress.run(
      o.runtime === 'podman' ? `${label} (container)` : label,
      () => (o.runtime === 'podman' ? startServiceContainer(layout, spec, state, save) : startServiceProcess(layout, service ? withPodCgroup(spec, layout) : spec, state, save)),
      (rec) => (rec.container ? `ready, container ${rec.container.id.slice(0, 12)}${ui}` : `ready${ui}`),
    );
  }

  for (let i = 1; i <= o.nodes; i++) {
    await progress.run(`pods on ${layout.nodeName(i)}`, async () => {
      const web = await createPod(layout, i, 'web', demoPods[0]!.labels, podMtu(o));
      if (service) web.cgroup = nodeCgroupDir(layout, i);
      upsertPod(state, web);
      startWebServer(layout, web);
      save();
      // One after the other, so pod addresses are the same in every run (web .2, client .3, other .4).
      for (const d of demoPods.slice(1)) {
        const pod = await createPod(layout, i, d.name, d.labels, podMtu(o));
        if (service) pod.cgroup = nodeCgroupDir(layout, i);
        upsertPod(state, pod);
        save();
      }
    }, () => state.pods.filter((p) => p.node === i).map((p) => `${p.name}=${p.ip}${p.ipv6 ? `,${p.ipv6}` : ''}`).join(' '));
  }
  if (o.traffic) {
    // Clients and others of every node hit the web pod of their own node and of other nodes;
    // over IPv6 only the next node's (one more process per pod; "check" probes every path).
    for (const pod of state.pods.filter((p) => p.name !== 'web')) {
      const targets = trafficTargets(pod.node, o.nodes);
      for (const j of targets) {
        const web = state.pods.find((p) => p.node === j && p.name === 'web');
        if (web?.ip) startTraffic(layout, pod, web.ip);
      }
      const web6 = state.pods.find((p) => p.node === (targets[1] ?? targets[0]) && p.name === 'web');
      if (web6?.ipv6) startTraffic(layout, pod, web6.ipv6);
    }
    save();
  }

  if (o.runtimes) {
    await progress.run('runtime containers (podman through cilium-cni, Docker through cilium-docker)', () => startRuntimeWorkloads(layout, o.nodes, podMtu(o), state, save),
      () => state.pods.filter((p) => p.runtime).map((p) => `n${p.node}/${p.name}=${p.ip}`).join(' '));
  }
  if (o.policy) {
    let revision = 0;
    await progress.run('demo policy', async () => {
      revision = await importClusterPolicy(layout, demoPolicyFile);
      if (o.runtimes) revision = await importClusterPolicy(layout, runtimePolicyFile);
      const nodes = Array.from({ length: o.nodes }, (_, i) => i + 1);
      const bad = (await waitPolicyEverywhere(layout, nodes, revision)).filter((w) => !w.ok);
      if (bad.length > 0) throw new Error(`policy revision ${revision} is not enforced on ${bad.map((b) => `n${b.node}: ${b.detail}`).join('; ')}`);
      state.demo.policyRevision = revision;
      save();
    }, () => `imported once (revision ${revision}), enforced on ${o.nodes} node(s)`);
  }
  if (service) {
    await progress.run('demo ClusterIP service', () => createDemoServices(layout, state), (svcs) =>
      svcs.map((s) => `${s.family === 6 ? `[${s.vip}]` : s.vip}:${s.port} -> ${s.backendNames.join(',')}`).join(' '),
    );
    await progress.run('demo NodePort service and a client outside the cluster', async () => {
      await createExternalClient(layout);
      return createDemoNodePort(layout, state);
    }, (what) => what);
  }
  if (out.summary !== false) printSummary(layout, o, service ? demoServices(state) : []);
}

/** Starts one daemon as a detached process, records it and waits until it is ready. */
async function startServiceProcess(layout: LabLayout, spec: ServiceSpec, state: LabState, save: () => void): Promise<ServiceRecord> {
  const argv = [...spec.argv, ...testExtraArgs(spec.name)];
  const pid = spawnDetached(argv, spec.logFile, layout.name);
  const rec: ServiceRecord = {
    name: spec.name,
    role: spec.role,
    ...(spec.node === undefined ? {} : { node: spec.node }),
    pid,
    address: spec.address,
    logFile: spec.logFile,
    cmdlineMatch: spec.cmdlineMatch ?? spec.argv[1] ?? spec.argv[0]!,
  };
  upsertService(state, rec);
  save();
  await waitReady(spec, pid);
  return rec;
}

/**
 * Starts one daemon in its container, records it (container id, and the pid of its main
 * process on the machine) and waits until it is ready; a container that exits first fails
 * with its state and the last lines it printed.
 */
async function startServiceContainer(layout: LabLayout, spec: ServiceSpec, state: LabState, save: () => void): Promise<ServiceRecord> {
  const c = await startContainer(layout, spec, testExtraArgs(spec.name));
  const rec: ServiceRecord = {
    name: spec.name,
    role: spec.role,
    ...(spec.node === undefined ? {} : { node: spec.node }),
    pid: c.pid || null,
    address: spec.address,
    logFile: spec.logFile,
    cmdlineMatch: imageAppMain(roleImages[spec.role as keyof typeof roleImages]),
    container: { id: c.id, name: c.name, image: c.image },
  };
  upsertService(state, rec);
  save();
  try {
    // pid 0: the container's process is already gone; waitReady then fails at once.
    await waitReady(spec, c.pid || -1);
  } catch (err) {
    if (!(err instanceof ServiceNotReadyError)) throw err;
    const st = (await containerState(c.id)) ?? 'gone';
    const why = st === 'running' ? err.reason : `its container ${c.name} (${c.id.slice(0, 12)}) is ${st}; last probe: ${err.reason.replace(/^.*last probe: /, '')}`;
    throw new ServiceNotReadyError(spec.name, why, `${spec.logFile} (podman logs ${c.name})`, await containerLogTail(c.id));
  }
  return rec;
}

function printSummary(layout: LabLayout, o: UpOptions, services: ReturnType<typeof demoServices>): void {
  const lines = [
    '',
    `Lab "${o.name}" is up (${o.nodes} node${o.nodes > 1 ? 's' : ''}${o.runtime === 'podman' ? ', every daemon but etcd in its own podman container' : ''}, ${o.ipv6 ? 'dual-stack' : 'IPv4 only'}, ${o.routingMode} routing${o.routingMode === 'tunnel' ? ` over ${o.underlay === 'ipv6' ? 'IPv6' : 'IPv4'}` : ''}, run dir ${layout.runDir}).`,
    `  relay:   ${layout.relayAddress} (${o.relayTls ? `TLS: CA ${layout.cert(labCerts.hubbleCa).certFile}, name ${relayTlsName} or 127.0.0.1` : 'plaintext, loopback only'}; it reads the hubble-servers over mTLS)`,
    `  UI:      ${uiUrl()} (Hubble UI: service map and flows)`,
    `  etcd:    ${layout.etcdEndpoint} (TLS, client certificate ${layout.cert(labCerts.etcdClient).certFile}, CA ${layout.cert(labCerts.etcdCa).certFile})`,
    ...Array.from({ length: o.nodes }, (_, k) => `  node n${k + 1}: netns ${layout.nodeNetns(k + 1)}, agent unix://${layout.agentSocket(k + 1)}, hubble ${layout.hubbleAddress(k + 1)}`),
    ...services.map((s) => `  service: ${s.family === 6 ? `[${s.vip}]` : s.vip}:${s.port} (id ${s.id}, ClusterIP) -> web pods ${s.backends.join(' ')} (cilium service list)`),
    `  logs:    ${layout.logDir}/`,
    '',
    'Watch the flows:',
    `  node_modules/.bin/hubble observe --server ${layout.relayAddress}${o.relayTls ? ` --tls --tls-ca-cert-files ${layout.cert(labCerts.hubbleCa).certFile}` : ''} -f`,
    o.policy
      ? '  expected on every node and across nodes: client -> web:80 FORWARDED; client -> web:8080 and other -> web:80 DROPPED (Policy denied)'
      : '  (no policy imported: everything is FORWARDED)',
    '',
    `More: tools/lab status --name ${o.name} | tools/lab check --name ${o.name} | tools/lab down --name ${o.name}`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}
