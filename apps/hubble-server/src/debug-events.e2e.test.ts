// End to end on the kernel: a real agent process (its own node namespace, a real etcd) and a
// pod endpoint with the Debug option on; the datapath's debug records reach this
// hubble-server through the agent's Monitor stream and come out of GetDebugEvents with the
// endpoint's metadata and the cilium monitor text, while GetFlows carries none of them.
// The same real agent gives hubble-server its peers (the cluster's nodes, from its kvstore
// watch, over Metadata.Watch): hubble-server has no kvstore connection of its own.
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { agent, flow, observer, peer } from '@cilium-ts/api';
import { createClient, unary } from '@cilium-ts/grpc';
import { createLogger } from '@cilium-ts/process';
import { KvStore } from '@cilium-ts/kvstore';
import { startTestEtcd, waitFor, type TestEtcd } from '@cilium-ts/kvstore/testing';
import { startHubbleServer, type RunningHubbleServer } from './hubble-server.js';
import { collect } from './testing/grpc-helpers.js';

const skip = process.getuid?.() !== 0 && process.env.CI !== 'true' ? 'needs root' : false;
const agentMain = join(dirname(fileURLToPath(import.meta.url)), '../../agent/dist/main.js');
const tag = `hsd${process.pid}`;
const nodeNs = `cts-${tag}-n1`;
const podNs = `cts-${tag}-pod`;
const pinDir = `/sys/fs/bpf/cts-${tag}`; // its own top-level dir: nothing of it is left after the test

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' });

describe('debug events from a real datapath through hubble-server', { skip }, () => {
  let etcd: TestEtcd | undefined;
  let dir = '';
  let child: ChildProcess | undefined;
  let output = '';
  let server: RunningHubbleServer | undefined;
  const clients: { close(): void }[] = [];
  let endpointId = 0;

  before(async () => {
    etcd = await startTestEtcd('hubble-debug');
    dir = mkdtempSync(join(tmpdir(), 'cts-hubble-debug-e2e-'));
    const socket = join(dir, 'agent.sock');
    ip('netns', 'add', nodeNs);
    ip('netns', 'add', podNs);
    ip('-n', nodeNs, 'link', 'add', 'node0', 'type', 'veth', 'peer', 'name', 'peer0');
    ip('-n', nodeNs, 'addr', 'add', '192.168.213.1/24', 'dev', 'node0');
    ip('-n', nodeNs, 'link', 'set', 'node0', 'up');
    ip('-n', nodeNs, 'link', 'set', 'peer0', 'up');
    // prettier-ignore
    child = spawn(process.execPath, [
      agentMain,
      '--node-name', 'n1', '--cluster-name', 'default',
      '--node-netns', `/run/netns/${nodeNs}`, '--node-ip', '192.168.213.1', '--pod-cidr', '10.213.0.0/24',
      '--kvstore-endpoints', etcd.endpoint, '--kvstore-prefix', tag,
      '--state-dir', join(dir, 'state'), '--bpf-pin-dir', pinDir,
      '--listen', `unix://${socket}`, '--log-level', 'warn',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d) => (output += d));
    child.stderr?.on('data', (d) => (output += d));
    await waitFor('the agent socket', () => existsSync(socket) || child?.exitCode !== null, 60_000);
    assert.ok(existsSync(socket), `the agent did not start:\n${output}`);
    server = await startHubbleServer({
      agentAddress: `unix://${socket}`,
      listenAddresses: [`unix://${join(dir, 'hubble.sock')}`],
      nodeName: 'n1',
      clusterName: 'default',
      bufferCapacity: 4095,
      logger: createLogger('hubble-server-e2e', { level: 'error' }),
      agentBackoffMs: 50,
    });
    await waitFor('hubble-server subscribed to the agent', () => server!.metadata.isSynced, 30_000).catch((err: Error) => {
      throw new Error(`${err.message} (monitor/metadata connected: ${server!.subscriber.connected}, synced: ${server!.metadata.isSynced}); agent output:\n${output}`);
    });

    const ipam = createClient(agent.IpamClient, `unix://${socket}`);
    const endpoints = createClient(agent.EndpointsClient, `unix://${socket}`);
    clients.push(ipam, endpoints);
    const v4 = await unary(ipam, 'allocate', agent.IpamAllocateRequest.fromPartial({ owner: podNs, family: 'ipv4' }), { deadline: 10_000 });
    ip('-n', nodeNs, 'link', 'add', 'lxcdbg', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', podNs);
    ip('-n', nodeNs, 'link', 'set', 'lxcdbg', 'up');
    const ep = await unary(
      endpoints,
      'createEndpoint',
      agent.CreateEndpointRequest.fromPartial({
        containerId: podNs, netns: `/run/netns/${podNs}`, ifname: 'eth0', hostIfname: 'lxcdbg', ipv4: v4.ip,
        labels: ['k8s:app=debugged', 'k8s:io.kubernetes.pod.namespace=default'], podName: 'debugged', namespace: 'default',
      }),
      { deadline: 15_000 },
    );
    endpointId = ep.id;
    const on = await unary(endpoints, 'patchEndpointConfig', agent.PatchEndpointConfigRequest.fromPartial({ id: endpointId, options: { Debug: 'true' } }), { deadline: 10_000 });
    assert.deepEqual(on.options.map((o) => [o.name, o.value]), [['Debug', 'Enabled']]);
    // The pod reaches its router through eth0 (a static neighbour: no ARP needed).
    const mac = (JSON.parse(ip('-n', nodeNs, '-j', 'link', 'show', 'lxcdbg')) as { address: string }[])[0]!.address;
    ip('-n', podNs, 'addr', 'add', `${v4.ip}/32`, 'dev', 'eth0');
    ip('-n', podNs, 'link', 'set', 'eth0', 'up');
    ip('-n', podNs, 'route', 'add', v4.gateway, 'dev', 'eth0', 'scope', 'link');
    ip('-n', podNs, 'neigh', 'replace', v4.gateway, 'lladdr', mac, 'dev', 'eth0', 'nud', 'permanent');
  });

  after(async () => {
    for (const c of clients) c.close();
    await server?.stop();
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child?.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
    spawnSync('ip', ['netns', 'delete', podNs]);
    spawnSync('ip', ['netns', 'delete', nodeNs]);
    rmSync(pinDir, { recursive: true, force: true });
    await etcd?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('peers come from the agent: a node registering in the kvstore is announced, and deleted when it goes', async () => {
    const notes: string[] = [];
    server!.peers.on('change', (n) => notes.push(`${peer.ChangeNotificationType[n.type]} ${n.name} ${n.address}`));
    const kv = await KvStore.connect({ endpoints: [etcd!.endpoint], prefix: tag });
    try {
      assert.deepEqual(server!.peers.list().map((p) => p.name), ['n1']);
      await kv.put(kv.keys.node('default', 'n9'), JSON.stringify({ name: 'n9', cluster: 'default', hubbleAddress: '10.9.9.9:4244' }));
      await waitFor('n9 announced', () => notes.includes('PEER_ADDED n9 10.9.9.9:4244'), 20_000);
      assert.deepEqual(server!.peers.list().map((p) => p.name), ['n1', 'n9']);
      await kv.delete(kv.keys.node('default', 'n9'));
      await waitFor('n9 deleted', () => notes.includes('PEER_DELETED n9 10.9.9.9:4244'), 20_000);
      assert.deepEqual(server!.peers.list().map((p) => p.name), ['n1']);
    } finally {
      await kv.close();
    }
  });

  test('a ping from the pod yields its debug events in GetDebugEvents, none in GetFlows', async () => {
    const client = createClient(observer.ObserverClient, server!.addresses[0]!);
    clients.push(client);
    const router = '10.213.0.1';
    const ping = (): void => void spawnSync('ip', ['netns', 'exec', podNs, 'ping', '-q', '-c', '2', '-i', '0.05', '-W', '1', router]);
    const debugEvents = () => collect(client.getDebugEvents(observer.GetDebugEventsRequest.fromPartial({ number: 4095n })));
    const lookupToRouter = (r: observer.GetDebugEventsResponse): boolean =>
      r.debugEvent?.type === flow.DebugEventType.DBG_CT_LOOKUP4_1 && /^Conntrack lookup 1\/2: src=10\.213\.0\.\d+:\d+ dst=10\.213\.0\.1:\d+$/.test(r.debugEvent.message);
    let got: observer.GetDebugEventsResponse[] = [];
    await waitFor('a conntrack lookup debug event of the pod', async () => {
      ping();
      got = await debugEvents();
      return got.some(lookupToRouter);
    }, 30_000);
    const ev = got.find(lookupToRouter)!;
    assert.equal(ev.nodeName, 'n1');
    assert.deepEqual(
      [ev.debugEvent?.source?.ID, ev.debugEvent?.source?.podName, ev.debugEvent?.source?.namespace, ev.debugEvent?.source?.labels.includes('k8s:app=debugged')],
      [endpointId, 'debugged', 'default', true],
    );
    assert.ok(ev.debugEvent?.source?.identity !== undefined && ev.debugEvent.source.identity >= 256, 'the endpoint\'s identity');
    assert.ok(got.every((r) => r.debugEvent?.message !== '' && r.debugEvent?.arg1 !== undefined && r.debugEvent?.hash !== undefined));
    assert.ok(got.every((r) => r.debugEvent?.source?.ID === endpointId), 'only the endpoint with Debug on emits');
    const flows = await collect(client.getFlows(observer.GetFlowsRequest.fromPartial({ number: 4095n })));
    assert.ok(flows.every((r) => r.flow === undefined || r.flow.eventType?.type !== 2), 'no debug record became a flow');
    assert.ok(server!.debugRing.head >= got.length);
  });
});
