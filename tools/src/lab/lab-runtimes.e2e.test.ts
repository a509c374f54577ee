// End to end with container runtimes as clients (`tools/lab up --runtimes`): a one-node
// IPv4 lab whose node also runs a podman container (--label app=client) attached by podman
// itself through cilium-cni (the lab's private CNI configuration, the plugin entering the
// node namespace). Its labels come from podman alone: the agent reads them once ADD has
// returned (the endpoint is reserved:init until then). The container must be an endpoint of
// the node's agent with the runtime and its name in the metadata and the identity of its
// podman labels, obey the demo policy (`lab check`), show in Hubble under its name and
// labels; one labelled app=other is denied web:80; one that exits at once leaves nothing;
// `podman rm` leaves nothing (endpoint, veth, addresses), also while the agent is down (the
// deletion queue, carried out when the agent starts: the address is handed out again); CNI
// GC removes the endpoint of a container podman no longer knows. The node also runs a Docker container (app=other) of the lab's private
// dockerd (installed from Debian's docker.io when missing), attached through the node's
// cilium-docker: an endpoint with runtime docker, its name, namespace and container labels
// and an address of the agent's pool; a bad --subnet or label fails clearly and changes
// nothing; with the agent killed `docker run` fails naming the agent and leaks nothing, and
// works once the agent is back, the running container keeping its endpoint; dockerd restarts
// (live restore) with the container running on, its endpoint unchanged, and a container
// started afterwards gets an address and the identity of its labels. Then, after both
// restarts, `lab check` (runtime-policy.yaml: app=other admits app=client only) shows both
// containers treated as the lab pods of the same labels, as sources and as targets, and
// Hubble names them. `docker rm` and `docker network rm` leave no endpoint, veth, address or
// identity reference. `down` leaves no workload container, no dockerd (nor its containerd,
// shims) and no plugin socket.
// Skipped (with the reason) when not root or an app is not built, except under CI=true.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { agent } from '@cilium-ts/api';
import { createClient, unary } from '@cilium-ts/grpc';
import { ciliumArgv } from './cilium-cli.js';
import { type CheckResult, runtimeCases } from './cmd-check.js';
import { docker, ensureDockerInstalled } from './docker-daemon.js';
import { dockerDir, dockerDriverName, restartLabDockerd } from './docker-workloads.js';
import { e2eSkip, killAgent, labCommand, restartAgent } from './e2e-support.js';
import { run } from './exec.js';
import { appMain, demoProgram, LabLayout } from './layout.js';
import { inNetns } from './netns.js';
import { podman, podmanConflist, podmanConfPaths, podmanNetworkName, podmanRunArgs, runPodmanWorkload, workloadImage, workloadLabel, type WorkloadContainer } from './podman-workloads.js';
import { readState } from './state-file.js';

const name = `rt${process.pid}`;
const layout = new LabLayout(name);
const skip = e2eSkip();

interface ApiEndpoint {
  id: number;
  containerId: string;
  hostIfname: string;
  ipv4: string;
  labels: string[];
  identity: number;
  state: string;
  podName: string;
  namespace: string;
  runtime?: string;
}

async function cilium(...args: string[]): Promise<string> {
  const r = await run(ciliumArgv(layout.agentSocket(1), ...args), { timeoutMs: 60_000 });
  assert.equal(r.code, 0, `cilium ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
const endpoints = async (): Promise<ApiEndpoint[]> => JSON.parse(await cilium('endpoint', 'list', '-o', 'json')) as ApiEndpoint[];
const allocations = async (): Promise<Array<{ ip: string; owner: string }>> =>
  (JSON.parse(await cilium('ipam', 'list', '-o', 'json')) as { allocations: Array<{ ip: string; owner: string }> }).allocations;
const linkExists = async (netns: string | undefined, ifname: string): Promise<boolean> =>
  (await run(netns ? inNetns(netns, ['ip', 'link', 'show', 'dev', ifname]) : ['ip', 'link', 'show', 'dev', ifname])).code === 0;

/** Runs cilium-cni as podman would, with the node's podman network config (GC, ADD of a container podman does not know). */
async function cni(command: string, extra: Record<string, unknown>, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string }> {
  const plugin = (podmanConflist(layout, 1).plugins as Array<Record<string, unknown>>)[0]!;
  const conf = { cniVersion: '1.1.0', name: podmanNetworkName(layout, 1), ...plugin, ...extra };
  const r = await run([process.execPath, appMain('cni')], { env: { ...process.env, CNI_COMMAND: command, CNI_PATH: podmanConfPaths(layout).binDir, ...env }, input: JSON.stringify(conf), timeoutMs: 90_000 });
  return { code: r.code, stdout: r.stdout + r.stderr };
}

describe('lab e2e with container runtimes as clients (podman through cilium-cni, Docker through cilium-docker)', { skip }, () => {
  let ctr: { id: string; name: string; ip: string; netns: string };
  /** The docker container; id is Docker's endpoint id (the agent's container id for it). */
  let dctr: { id: string; name: string; ip: string; netns: string };
  const dk = { socket: `${dockerDir(layout)}/docker.sock` };

  before(async () => {
    // A machine without docker.io gets it here, outside the time budget of `up`.
    await ensureDockerInstalled();
    const up = await labCommand('up', '--nodes', '1', '--name', name, '--ipv4-only', '--no-traffic', '--runtimes');
    assert.equal(up.code, 0, `tools/lab up --runtimes failed:\n${up.stderr}\n${up.stdout}`);
    const pod = readState(layout.stateFile)?.pods.find((p) => p.runtime === 'podman');
    assert.ok(pod?.ip, 'the state file records the podman container');
    ctr = { id: pod.containerId, name: layout.podNetns(1, 'podman'), ip: pod.ip, netns: pod.netns };
    const dpod = readState(layout.stateFile)?.pods.find((p) => p.runtime === 'docker');
    assert.ok(dpod?.ip, 'the state file records the docker container');
    dctr = { id: dpod.containerId, name: layout.podNetns(1, 'docker'), ip: dpod.ip, netns: dpod.netns };
  });
  after(async () => {
    const down = await labCommand('down', '--name', name);
    assert.equal(down.code, 0, down.stderr);
    const left = await run(['podman', 'ps', '-a', '--filter', `label=${workloadLabel}=${name}`, '--format', '{{.Names}}']);
    assert.equal(left.stdout.trim(), '', `down left podman workloads: ${left.stdout}`);
    const dockerd = await run(['pgrep', '-f', dockerDir(layout)]);
    assert.equal(dockerd.stdout.trim(), '', `down left the lab's dockerd (or its containerd): ${dockerd.stdout}`);
    assert.equal((await run(['ls', `/run/docker/plugins/${dockerDriverName(layout, 1)}.sock`])).code, 2, 'down left the plugin socket');
  });

  test('the podman container is an endpoint: runtime and name in its metadata, the identity of its podman labels (read by the agent), host veth in the node namespace', async () => {
    const eps = await endpoints();
    const ep = eps.find((e) => e.containerId === ctr.id);
    assert.ok(ep, `no endpoint for podman container ${ctr.id}: ${JSON.stringify(eps.map((e) => e.containerId))}`);
    assert.equal(ep.runtime, 'podman');
    assert.equal(ep.podName, ctr.name, 'podman passes the container name as K8S_POD_NAME');
    assert.equal(ep.namespace, 'default');
    assert.equal(ep.ipv4, ctr.ip);
    assert.equal(ep.state, 'ready');
    assert.deepEqual(ep.labels.filter((l) => !l.includes(workloadLabel)), ['container:app=client', 'k8s:io.kubernetes.pod.namespace=default'], `labels ${ep.labels.join(' ')}`);
    assert.ok(ep.identity >= 256, `identity ${ep.identity} is a cluster identity, not reserved:init`);
    assert.equal(await linkExists(layout.nodeNetns(1), ep.hostIfname), true, `${ep.hostIfname} is in the node namespace`);
    assert.equal(await linkExists(undefined, ep.hostIfname), false, `${ep.hostIfname} is not in the machine's namespace`);
  });

  test('the docker container (cilium-docker) is an endpoint: runtime docker, its name and namespace, container labels, address from the agent\'s pool', async () => {
    const eps = await endpoints();
    const ep = eps.find((e) => e.containerId === dctr.id);
    assert.ok(ep, `no endpoint for docker endpoint ${dctr.id}: ${JSON.stringify(eps.map((e) => e.containerId))}`);
    assert.equal(ep.runtime, 'docker');
    assert.equal(ep.podName, dctr.name);
    assert.equal(ep.namespace, 'default');
    assert.equal(ep.ipv4, dctr.ip);
    assert.ok(ep.labels.includes('container:app=other') && ep.labels.includes('k8s:io.kubernetes.pod.namespace=default'), `labels ${ep.labels.join(' ')}`);
    assert.deepEqual((await allocations()).filter((a) => a.ip === dctr.ip).map((a) => a.owner), [dctr.id], 'the address is the endpoint\'s');
    assert.equal(await linkExists(layout.nodeNetns(1), ep.hostIfname), true, `${ep.hostIfname} is in the node namespace`);
  });

  test('docker: bad input gets a clear error and changes nothing; with the agent down docker run fails clearly, leaks nothing, and works again after the agent restarts', async () => {
    const image = (await docker(dk, ['inspect', '--format', '{{.Config.Image}}', dctr.name])).stdout.trim();
    const net = dockerDriverName(layout, 1);
    const bad = await docker(dk, ['network', 'create', '--driver', net, '--ipam-driver', net, '--subnet', '10.9.0.0/24', `${name}bad`]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /Pool "10\.9\.0\.0\/24": addresses come from the node's pod CIDR; drop --subnet/);
    const before = { eps: (await endpoints()).length, ips: (await allocations()).length };
    const badLabel = await docker(dk, ['run', '-d', '--name', `${name}-badlabel`, '--net', net, '--label', 'app=has space', '--label', `${workloadLabel}=${name}`, image, 'sleep', 'infinity']);
    assert.notEqual(badLabel.code, 0, 'a label the agent cannot take fails docker run');
    assert.match(badLabel.stderr, /container:app=has space/);
    await docker(dk, ['rm', '-f', `${name}-badlabel`]);
    assert.deepEqual({ eps: (await endpoints()).length, ips: (await allocations()).length }, before);
    const vethsBefore = (await run(inNetns(layout.nodeNetns(1), ['ip', '-o', 'link', 'show']))).stdout.split('\n').filter((l) => l.includes(' dkr')).length;
    const labEp = (await endpoints()).find((e) => e.containerId === dctr.id)!;

    await killAgent(layout, 1);
    try {
      const down = await docker(dk, ['run', '-d', '--name', `${name}-agentdown`, '--net', net, '--label', 'app=x', '--label', `${workloadLabel}=${name}`, image, 'sleep', 'infinity']);
      assert.notEqual(down.code, 0, 'docker run must fail with the agent down');
      assert.match(down.stderr, /agent .*unreachable: is cilium-agent running\?/);
      await docker(dk, ['rm', '-f', `${name}-agentdown`]);
      assert.doesNotMatch((await run(['ip', '-o', 'link', 'show'])).stdout, /: tmp[0-9a-f]{12}[@:]/, 'a veth end is left in the machine\'s namespace');
    } finally {
      await restartAgent(layout, 1, { ipv6: false, routingMode: 'native' });
    }
    assert.equal((await run(inNetns(layout.nodeNetns(1), ['ip', '-o', 'link', 'show']))).stdout.split('\n').filter((l) => l.includes(' dkr')).length, vethsBefore, 'a host veth is left');
    assert.deepEqual({ eps: (await endpoints()).length, ips: (await allocations()).length }, before);
    const labAfter = (await endpoints()).find((e) => e.containerId === dctr.id);
    assert.deepEqual([labAfter?.ipv4, labAfter?.identity, labAfter?.hostIfname], [labEp.ipv4, labEp.identity, labEp.hostIfname], 'the running docker container keeps its endpoint across the agent restart');
    const again = await docker(dk, ['run', '-d', '--name', `${name}-again`, '--net', net, '--label', 'app=x', '--label', `${workloadLabel}=${name}`, image, 'sleep', 'infinity']);
    assert.equal(again.code, 0, `docker run after the agent restart: ${again.stderr}`);
    const rm = await docker(dk, ['rm', '-f', `${name}-again`]);
    assert.equal(rm.code, 0, rm.stderr);
    assert.deepEqual({ eps: (await endpoints()).length, ips: (await allocations()).length }, before, 'docker rm leaves no endpoint or address');
  });

  test('dockerd restarts (live restore): the container keeps running with its endpoint, the network stays, a container started afterwards gets an address and the identity of its labels', async () => {
    const net = dockerDriverName(layout, 1);
    const image = (await docker(dk, ['inspect', '--format', '{{.Config.Image}}', dctr.name])).stdout.trim();
    const epBefore = (await endpoints()).find((e) => e.containerId === dctr.id)!;
    const pidOf = async (): Promise<string> => (await docker(dk, ['inspect', '--format', '{{.State.Pid}} {{.State.Running}}', dctr.name])).stdout.trim();
    const pidBefore = await pidOf();
    const oldDaemon = Number(readFileSync(`${dockerDir(layout)}/dockerd.pid`, 'utf8'));
    const d = await restartLabDockerd(layout);
    assert.notEqual(d.pid, oldDaemon, 'a new dockerd');
    assert.equal(await pidOf(), pidBefore, 'the container runs on, the same process');
    assert.equal((await docker(dk, ['network', 'inspect', '--format', '{{.Driver}}', net])).stdout.trim(), net, 'the network is still there');
    const epAfter = (await endpoints()).find((e) => e.containerId === dctr.id);
    assert.deepEqual([epAfter?.id, epAfter?.ipv4, epAfter?.identity], [epBefore.id, epBefore.ipv4, epBefore.identity], 'the endpoint is the same');
    const before = { eps: (await endpoints()).length, ips: (await allocations()).length };
    const after = `${name}-afterrestart`;
    const r = await docker(dk, ['run', '-d', '--name', after, '--net', net, '--label', 'app=other', '--label', 'io.kubernetes.pod.namespace=default', '--label', `${workloadLabel}=${name}`, image, 'sleep', 'infinity']);
    assert.equal(r.code, 0, `docker run after the dockerd restart: ${r.stderr}`);
    const epId = (await docker(dk, ['inspect', '--format', `{{(index .NetworkSettings.Networks "${net}").EndpointID}}`, after])).stdout.trim();
    const ep = (await endpoints()).find((e) => e.containerId === epId);
    assert.ok(ep, `no endpoint for ${after} (docker endpoint ${epId})`);
    assert.equal(ep.identity, epBefore.identity, 'the same labels as the lab\'s docker container, the same identity');
    assert.deepEqual((await allocations()).filter((a) => a.ip === ep.ipv4).map((a) => a.owner), [epId], 'its address is the endpoint\'s');
    const rm = await docker(dk, ['rm', '-f', after]);
    assert.equal(rm.code, 0, rm.stderr);
    assert.deepEqual({ eps: (await endpoints()).length, ips: (await allocations()).length }, before, 'docker rm after the restart leaves no endpoint or address');
  });

  test('lab check after the agent and dockerd restarts: the demo policy applies to the podman and docker containers as to the lab pods of the same labels; Hubble names both', async () => {
    const r = await labCommand('check', '--name', name, '--json');
    const results = (JSON.parse(r.stdout) as { results: CheckResult[] }).results;
    const isRuntimeCase = (c: CheckResult): boolean => runtimeCases.some((k) => k.from === c.from && k.to === c.to && k.port === c.port && k.path === c.path && k.proto === c.proto);
    const runtimeRows = results.filter(isRuntimeCase).map((c) => `${c.from}->${c.to}:${c.proto ?? c.port}${c.path ?? ''} ${c.expect}/${c.got}`);
    assert.deepEqual(runtimeRows, [
      'podman->web:80 allowed/allowed', 'podman->web:80/private denied/denied', 'podman->web:8080 denied/denied', 'docker->web:80 denied/denied',
      'docker->client:icmp allowed/allowed', 'docker->podman:icmp allowed/allowed', 'podman->docker:icmp allowed/allowed', 'client->docker:icmp allowed/allowed',
      'podman->other:icmp allowed/allowed', 'web->docker:icmp denied/denied', 'web->other:icmp denied/denied',
    ]);
    assert.equal(r.code, 0, r.stdout);
    const flows = await run([process.execPath, appMain('hubble-cli'), 'observe', '--server', layout.relayAddress, '--last', '500', '-o', 'json', '--from-ip', ctr.ip], { timeoutMs: 90_000 });
    assert.equal(flows.code, 0, flows.stderr);
    const seen = flows.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { flow: { verdict: string; source?: { pod_name?: string; namespace?: string; labels?: string[] } } }).flow);
    assert.ok(seen.some((f) => f.source?.pod_name === ctr.name && f.source.namespace === 'default' && f.verdict === 'FORWARDED'), `no forwarded flow named ${ctr.name}`);
    assert.ok(seen.some((f) => f.source?.pod_name === ctr.name && f.source.labels?.includes('container:app=client')), `no flow of ${ctr.name} with its podman labels`);
    assert.ok(seen.some((f) => f.source?.pod_name === ctr.name && f.verdict === 'DROPPED'), `no dropped flow named ${ctr.name}`);
    const dflows = await run([process.execPath, appMain('hubble-cli'), 'observe', '--server', layout.relayAddress, '--last', '500', '-o', 'json', '--from-ip', dctr.ip], { timeoutMs: 90_000 });
    assert.ok(dflows.stdout.split('\n').some((l) => l.includes(`"pod_name":"${dctr.name}"`) && l.includes('"DROPPED"')), `no dropped flow named ${dctr.name} (app=other to web:80)`);
  });

  test('docker rm and docker network rm leave no endpoint, veth, address or identity reference', async () => {
    const ep = (await endpoints()).find((e) => e.containerId === dctr.id)!;
    const idsBefore = JSON.parse(await cilium('identity', 'list', '-o', 'json')) as Array<{ id: number; references?: number }>;
    assert.ok(idsBefore.some((i) => i.id === ep.identity), `identity ${ep.identity} listed`);
    await run(['umount', `/run/netns/${dctr.netns}`]);
    await run(['rm', '-f', `/run/netns/${dctr.netns}`]);
    const rm = await docker(dk, ['rm', '-f', dctr.name]);
    assert.equal(rm.code, 0, rm.stderr);
    const nrm = await docker(dk, ['network', 'rm', dockerDriverName(layout, 1)]);
    assert.equal(nrm.code, 0, nrm.stderr);
    assert.equal((await endpoints()).some((e) => e.containerId === dctr.id), false, 'endpoint left after docker rm');
    assert.equal(await linkExists(layout.nodeNetns(1), ep.hostIfname), false, 'host veth left after docker rm');
    assert.deepEqual((await allocations()).filter((a) => a.ip === dctr.ip), [], 'address left after docker rm');
    const idsAfter = JSON.parse(await cilium('identity', 'list', '-o', 'json')) as Array<{ id: number; references?: number }>;
    assert.equal(idsAfter.find((i) => i.id === ep.identity)?.references ?? 0, 0, 'the identity keeps a reference');
  });

  describe('podman labels and address release (issue 17, podman half)', () => {
    let other: WorkloadContainer;

    test('podman run --label app=other: the identity of its labels, denied web:80, its drops in Hubble with its labels', async () => {
      other = await runPodmanWorkload(layout, 1, `${name}-other`, { app: 'other' }, await workloadImage());
      const ep = (await endpoints()).find((e) => e.containerId === other.id);
      assert.ok(ep?.labels.includes('container:app=other') && ep.state === 'ready', JSON.stringify(ep));
      const web = readState(layout.stateFile)!.pods.find((p) => p.node === 1 && p.name === 'web')!;
      const probe = await run(inNetns(other.netns, [process.execPath, demoProgram('probe'), web.ip!, '80', '--timeout', '2000']), { timeoutMs: 10_000 });
      assert.notEqual(probe.code, 0, `app=other reached web:80: ${probe.stdout}`);
      const flows = await run([process.execPath, appMain('hubble-cli'), 'observe', '--server', layout.relayAddress, '--last', '200', '-o', 'json', '--from-ip', other.ip, '--verdict', 'DROPPED'], { timeoutMs: 90_000 });
      assert.equal(flows.code, 0, flows.stderr);
      assert.match(flows.stdout, /container:app=other/, 'no dropped flow with the container\'s labels');
    });

    test('a container that exits at once (before or after its labels are read) leaves no endpoint or address', async () => {
      const before = { eps: (await endpoints()).length, ips: (await allocations()).length };
      const args = podmanRunArgs(layout, 1, `${name}-brief`, { app: 'brief' }, await workloadImage(), ['true']);
      args.splice(1, 0, '--rm');
      const r = await podman(layout, args);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual({ eps: (await endpoints()).length, ips: (await allocations()).length }, before);
    });

    test('podman rm while the agent is down: DEL succeeds and queues the deletion; the started agent removes the endpoint and hands the address out again', async () => {
      const queue = join(layout.nodeDir(1), 'delete-queue');
      await killAgent(layout, 1);
      const rm = await podman(layout, ['rm', '-f', '-t', '0', other.id]);
      assert.equal(rm.code, 0, `podman rm with the agent down: ${rm.stderr}`);
      assert.deepEqual(readdirSync(queue), [`${other.id}.delete`]);
      await restartAgent(layout, 1, { ipv6: false, routingMode: 'native' });
      assert.deepEqual(readdirSync(queue), [], 'the agent drained the queue before serving');
      assert.equal((await endpoints()).some((e) => e.containerId === other.id), false, 'endpoint left');
      assert.deepEqual((await allocations()).filter((a) => a.owner === other.id), [], 'address left');
      const ipam = createClient(agent.IpamClient, `unix://${layout.agentSocket(1)}`);
      try {
        const again = await unary(ipam, 'allocate', { owner: `${name}-reuse`, family: 'ipv4', ip: other.ip }, { deadline: 10_000 });
        assert.equal(again.ip, other.ip);
        await unary(ipam, 'release', { owner: `${name}-reuse`, ip: '' }, { deadline: 10_000 });
      } finally {
        ipam.close();
      }
    });
  });

  test('podman rm runs CNI DEL: no endpoint, veth or address is left; CNI GC removes the endpoint of a container podman does not know', async () => {
    const ep = (await endpoints()).find((e) => e.containerId === ctr.id)!;
    const rm = await podman(layout, ['rm', '-f', '-t', '0', ctr.id]);
    assert.equal(rm.code, 0, rm.stderr);
    assert.equal((await endpoints()).some((e) => e.containerId === ctr.id), false, 'endpoint left after podman rm');
    assert.equal(await linkExists(layout.nodeNetns(1), ep.hostIfname), false, 'veth left after podman rm');
    assert.deepEqual((await allocations()).filter((a) => a.owner === ctr.id), [], 'address left after podman rm');

    // A container that vanished without DEL (its runtime crashed): attached by hand, then collected.
    await run(['ip', 'netns', 'add', `${name}-gone`]);
    try {
      const gone = `${name}gone0000`;
      const add = await cni('ADD', {}, { CNI_CONTAINERID: gone, CNI_NETNS: `/run/netns/${name}-gone`, CNI_IFNAME: 'eth0', CNI_ARGS: 'K8S_POD_NAMESPACE=default' });
      assert.equal(add.code, 0, add.stdout);
      assert.ok((await endpoints()).some((e) => e.containerId === gone));
      const valid = [...(readState(layout.stateFile)?.pods ?? []).filter((p) => !p.runtime).map((p) => ({ containerID: p.containerId, ifname: 'eth0' }))];
      const gc = await cni('GC', { 'cni.dev/valid-attachments': valid });
      assert.equal(gc.code, 0, gc.stdout);
      const left = await endpoints();
      assert.equal(left.some((e) => e.containerId === gone), false, 'GC left the vanished container\'s endpoint');
      assert.deepEqual(left.map((e) => e.containerId).filter((c) => c !== '').sort(), valid.map((v) => v.containerID).sort(), 'GC kept the valid attachments');
      assert.deepEqual((await allocations()).filter((a) => a.owner === gone), []);
    } finally {
      await run(['ip', 'netns', 'delete', `${name}-gone`]);
    }
  });
});
