// End to end with container runtimes as clients (`tools/lab up --runtimes`): a one-node
// IPv4 lab whose node also runs a podman container (app=client) attached by podman itself
// through cilium-cni (the lab's private CNI configuration, the plugin entering the node
// namespace). The container must be an endpoint of the node's agent with the runtime and
// its name in the metadata and the identity of the lab's client pod (same labels), obey the
// demo policy (`lab check`), show in Hubble under its name, and leave nothing on `podman rm`
// (endpoint, veth, addresses); CNI GC removes the endpoint of a container podman no longer
// knows; a bad label in podman's CNI_ARGS fails `podman run` with the plugin's error and
// leaks nothing. `down` leaves no workload container.
// Skipped (with the reason) when not root or an app is not built, except under CI=true.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ciliumArgv } from './cilium-cli.js';
import type { CheckResult } from './cmd-check.js';
import { e2eSkip, labCommand } from './e2e-support.js';
import { run } from './exec.js';
import { appMain, LabLayout } from './layout.js';
import { inNetns } from './netns.js';
import { podman, podmanConflist, podmanConfPaths, podmanNetworkName, workloadImage, workloadLabel } from './podman-workloads.js';
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

describe('lab e2e with container runtimes as clients (podman through cilium-cni)', { skip }, () => {
  let ctr: { id: string; name: string; ip: string; netns: string };

  before(async () => {
    const up = await labCommand('up', '--nodes', '1', '--name', name, '--ipv4-only', '--no-traffic', '--runtimes');
    assert.equal(up.code, 0, `tools/lab up --runtimes failed:\n${up.stderr}\n${up.stdout}`);
    const pod = readState(layout.stateFile)?.pods.find((p) => p.runtime === 'podman');
    assert.ok(pod?.ip, 'the state file records the podman container');
    ctr = { id: pod.containerId, name: layout.podNetns(1, 'podman'), ip: pod.ip, netns: pod.netns };
  });
  after(async () => {
    const down = await labCommand('down', '--name', name);
    assert.equal(down.code, 0, down.stderr);
    const left = await run(['podman', 'ps', '-a', '--filter', `label=${workloadLabel}=${name}`, '--format', '{{.Names}}']);
    assert.equal(left.stdout.trim(), '', `down left podman workloads: ${left.stdout}`);
  });

  test('the podman container is an endpoint: runtime and name in its metadata, the identity of its labels, host veth in the node namespace', async () => {
    const eps = await endpoints();
    const ep = eps.find((e) => e.containerId === ctr.id);
    assert.ok(ep, `no endpoint for podman container ${ctr.id}: ${JSON.stringify(eps.map((e) => e.containerId))}`);
    assert.equal(ep.runtime, 'podman');
    assert.equal(ep.podName, ctr.name, 'podman passes the container name as K8S_POD_NAME');
    assert.equal(ep.namespace, 'default');
    assert.equal(ep.ipv4, ctr.ip);
    assert.ok(ep.labels.includes('k8s:app=client'), `labels ${ep.labels.join(' ')}`);
    const client = eps.find((e) => e.containerId === layout.podContainerId(1, 'client'))!;
    assert.equal(ep.identity, client.identity, 'same labels as the lab client pod, same identity');
    assert.equal(await linkExists(layout.nodeNetns(1), ep.hostIfname), true, `${ep.hostIfname} is in the node namespace`);
    assert.equal(await linkExists(undefined, ep.hostIfname), false, `${ep.hostIfname} is not in the machine's namespace`);
  });

  test('lab check: the demo policy applies to the podman container as to the client pod; Hubble names it', async () => {
    const r = await labCommand('check', '--name', name, '--json');
    const results = (JSON.parse(r.stdout) as { results: CheckResult[] }).results;
    const mine = results.filter((c) => c.from === 'podman');
    assert.deepEqual(mine.map((c) => [c.port, c.expect, c.got]), [[80, 'allowed', 'allowed'], [8080, 'denied', 'denied']], JSON.stringify(mine));
    assert.equal(r.code, 0, r.stdout);
    const flows = await run([process.execPath, appMain('hubble-cli'), 'observe', '--server', layout.relayAddress, '--last', '500', '-o', 'json', '--from-ip', ctr.ip], { timeoutMs: 90_000 });
    assert.equal(flows.code, 0, flows.stderr);
    const seen = flows.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { flow: { verdict: string; source?: { pod_name?: string; namespace?: string } } }).flow);
    assert.ok(seen.some((f) => f.source?.pod_name === ctr.name && f.source.namespace === 'default' && f.verdict === 'FORWARDED'), `no forwarded flow named ${ctr.name}`);
    assert.ok(seen.some((f) => f.source?.pod_name === ctr.name && f.verdict === 'DROPPED'), `no dropped flow named ${ctr.name}`);
  });

  test('a bad label in podman\'s CNI_ARGS fails podman run with the plugin\'s error and leaks nothing', async () => {
    const before = { eps: (await endpoints()).length, ips: (await allocations()).length };
    const image = await workloadImage();
    const bad = await podman(layout, ['run', '-d', '--name', `${name}-bad`, '--network', podmanNetworkName(layout, 1), '--label', `${workloadLabel}=${name}`, '--ulimit', 'nofile=20000:20000', '--ulimit', 'nproc=1000:1000', image, 'sleep', 'infinity'], {
      CNI_ARGS: 'CILIUM_LABELS=app',
    });
    assert.notEqual(bad.code, 0, 'podman run must fail');
    assert.match(bad.stderr, /CILIUM_LABELS item "app" is not key=value/);
    await podman(layout, ['rm', '-f', `${name}-bad`]);
    assert.deepEqual({ eps: (await endpoints()).length, ips: (await allocations()).length }, before);
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
