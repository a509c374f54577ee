// A real dual-stack agent process (--pod-cidr and --pod-cidr-v6, in its own node
// namespace) against a real etcd: the IPv6 router on cilium_host and forwarding, the
// node registration with its IPv6 address and pod CIDR, Ipam.Allocate for both families,
// an endpoint's IPv6 address in the cluster ipcache, the IPv6 route to a remote node's
// pod CIDR, and the IPv6 allocations surviving a restart. The endpoint's Debug option:
// on, the datapath's debug records reach the agent's monitor stream; off, they stop; the
// option survives the restart.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess, execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { agent } from '@cilium-ts/api';
import { decodeEventRecord, DebugType, EventType } from '@cilium-ts/bpf/events';
import { createClient, unary } from '@cilium-ts/grpc';
import { KvStore, NodeRegistry } from '@cilium-ts/kvstore';
import { startTestEtcd, waitFor, type TestEtcd } from '@cilium-ts/kvstore/testing';

const skip = process.getuid?.() !== 0 && process.env.CI !== 'true' ? 'needs root' : false;
const mainJs = join(dirname(fileURLToPath(import.meta.url)), 'main.js');
const tag = `ads${process.pid}`;
const nodeNs = `cts-${tag}-n1`;
const podNs = `cts-${tag}-pod`;
const prefix = 'ads';
const pinDir = `/sys/fs/bpf/cts-${tag}`; // its own top-level dir: nothing of it is left after the test

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' });

describe('dual-stack agent with a real etcd', { skip }, () => {
  let etcd: TestEtcd;
  let kv: KvStore;
  let dir: string;
  let socket: string;
  let child: ChildProcess | undefined;
  let output = '';
  let clients: Array<{ close(): void }> = [];
  let ipam: agent.IpamClient;
  let endpoints: agent.EndpointsClient;
  let monitor: agent.MonitorClient;
  let endpointId = 0;

  async function startAgent(): Promise<void> {
    output = '';
    // prettier-ignore
    child = spawn(process.execPath, [
      mainJs,
      '--node-name', 'n1', '--cluster-name', 'c1',
      '--node-netns', `/run/netns/${nodeNs}`,
      '--node-ip', '192.168.212.1', '--pod-cidr', '10.212.0.0/24',
      '--node-ipv6', 'fd00:192:212::1', '--pod-cidr-v6', 'fd00:212::/120',
      '--kvstore-endpoints', etcd.endpoint, '--kvstore-prefix', prefix,
      '--state-dir', join(dir, 'state'), '--bpf-pin-dir', pinDir,
      '--listen', `unix://${socket}`, '--log-level', 'info',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d) => (output += d));
    child.stderr?.on('data', (d) => (output += d));
    await waitFor('the agent socket', () => existsSync(socket) || child?.exitCode !== null, 60_000);
    assert.ok(existsSync(socket), `the agent did not start:\n${output}`);
    ipam = createClient(agent.IpamClient, `unix://${socket}`);
    endpoints = createClient(agent.EndpointsClient, `unix://${socket}`);
    monitor = createClient(agent.MonitorClient, `unix://${socket}`);
    clients = [ipam, endpoints, monitor];
  }

  async function stopAgent(): Promise<void> {
    for (const c of clients) c.close();
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child?.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
  }

  before(async () => {
    etcd = await startTestEtcd('agent-dual');
    kv = await KvStore.connect({ endpoints: [etcd.endpoint], prefix, healthIntervalMs: 200 });
    dir = mkdtempSync(join(tmpdir(), 'cts-agent-ds-'));
    socket = join(dir, 'agent.sock');
    ip('netns', 'add', nodeNs);
    ip('netns', 'add', podNs);
    // The node's link to other nodes, with an IPv6 address the remote node's route goes through.
    ip('-n', nodeNs, 'link', 'add', 'node0', 'type', 'veth', 'peer', 'name', 'peer0');
    ip('-n', nodeNs, '-6', 'addr', 'add', 'fd00:192:212::1/64', 'dev', 'node0', 'nodad');
    ip('-n', nodeNs, 'addr', 'add', '192.168.212.1/24', 'dev', 'node0');
    ip('-n', nodeNs, 'link', 'set', 'node0', 'up');
    ip('-n', nodeNs, 'link', 'set', 'peer0', 'up');
    await startAgent();
  });

  after(async () => {
    await stopAgent();
    spawnSync('ip', ['netns', 'delete', podNs]);
    spawnSync('ip', ['netns', 'delete', nodeNs]);
    rmSync(pinDir, { recursive: true, force: true });
    await kv?.close();
    await etcd?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('cilium_host holds the IPv6 router, IPv6 forwarding is on, the node registers both families', async () => {
    const addrs = JSON.parse(ip('-n', nodeNs, '-j', '-6', 'addr', 'show', 'dev', 'cilium_host')) as Array<{ addr_info: Array<{ local: string; prefixlen: number }> }>;
    assert.ok(addrs[0]!.addr_info.some((a) => a.local === 'fd00:212::1' && a.prefixlen === 128), JSON.stringify(addrs));
    const fwd = execFileSync('ip', ['netns', 'exec', nodeNs, 'sysctl', '-n', 'net.ipv6.conf.all.forwarding'], { encoding: 'utf8' });
    assert.equal(fwd.trim(), '1');
    const reg = JSON.parse((await kv.get(kv.keys.node('c1', 'n1')))!) as Record<string, string>;
    assert.equal(reg.ipv6, 'fd00:192:212::1');
    assert.equal(reg.podCIDRv6, 'fd00:212::/120');
    assert.equal(reg.podCIDR, '10.212.0.0/24');
  });

  test('Ipam.Allocate hands out both families; an endpoint publishes its IPv6 address to the cluster ipcache', async () => {
    const v4 = await unary(ipam, 'allocate', agent.IpamAllocateRequest.fromPartial({ owner: podNs, family: 'ipv4' }), { deadline: 10_000 });
    const v6 = await unary(ipam, 'allocate', agent.IpamAllocateRequest.fromPartial({ owner: podNs, family: 'ipv6' }), { deadline: 10_000 });
    assert.deepEqual({ ...v6 }, { ip: 'fd00:212::2', prefixLength: 120, gateway: 'fd00:212::1', podCidr: 'fd00:212::/120' });
    await assert.rejects(
      unary(ipam, 'allocate', agent.IpamAllocateRequest.fromPartial({ owner: podNs, family: 'ipx' }), { deadline: 10_000 }),
      /not one of ipv4, ipv6/,
    );
    ip('-n', nodeNs, 'link', 'add', 'lxcds', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', podNs);
    ip('-n', nodeNs, 'link', 'set', 'lxcds', 'up');
    const ep = await unary(
      endpoints,
      'createEndpoint',
      agent.CreateEndpointRequest.fromPartial({
        containerId: podNs,
        netns: `/run/netns/${podNs}`,
        ifname: 'eth0',
        hostIfname: 'lxcds',
        ipv4: v4.ip,
        ipv6: v6.ip,
        labels: ['k8s:app=dual', 'k8s:io.kubernetes.pod.namespace=default'],
        podName: 'dual',
        namespace: 'default',
      }),
      { deadline: 15_000 },
    );
    assert.equal(ep.ipv6, 'fd00:212::2');
    await waitFor('the IPv6 ipcache entry in etcd', async () => (await kv.get(kv.keys.ip('c1', 'fd00:212::2'))) !== undefined, 10_000);
    const entry = JSON.parse((await kv.get(kv.keys.ip('c1', 'fd00:212::2')))!) as { identity: number; node: string; hostIP: string; hostIPv6: string };
    assert.equal(entry.identity, ep.identity);
    assert.equal(entry.node, 'n1');
    assert.deepEqual([entry.hostIP, entry.hostIPv6], ['192.168.212.1', 'fd00:192:212::1'], 'both node addresses (the tunnel end over either underlay)');
    endpointId = ep.id;
    assert.deepEqual(ep.options, { Debug: 'Disabled' });
  });

  test('Debug=true on the endpoint puts its debug records on the monitor stream; Debug=false stops them', async () => {
    // The pod sends IPv4 to its router through eth0 (a static neighbour: no ARP needed).
    const mac = (JSON.parse(ip('-n', nodeNs, '-j', 'link', 'show', 'lxcds')) as Array<{ address: string }>)[0]!.address;
    ip('-n', podNs, 'addr', 'add', '10.212.0.2/32', 'dev', 'eth0');
    ip('-n', podNs, 'link', 'set', 'eth0', 'up');
    ip('-n', podNs, 'route', 'add', '10.212.0.1', 'dev', 'eth0', 'scope', 'link');
    ip('-n', podNs, 'route', 'add', 'default', 'via', '10.212.0.1');
    ip('-n', podNs, 'neigh', 'replace', '10.212.0.1', 'lladdr', mac, 'dev', 'eth0', 'nud', 'permanent');
    const ping = (dst: string): void => void spawnSync('ip', ['netns', 'exec', podNs, 'ping', '-q', '-c', '2', '-i', '0.05', '-W', '1', dst]);
    // The destination of a "Conntrack lookup 1/2" record (arg2, the IPv4 address as a number), by endpoint.
    const records: Array<{ source: number; subType: number; arg2: number }> = [];
    const stream = monitor.listen(agent.MonitorRequest.fromPartial({ types: [EventType.debug] }));
    stream.on('data', (ev: agent.MonitorEvent) => {
      const r = ev.datapath && decodeEventRecord(ev.datapath);
      if (r && r.type === EventType.debug) records.push({ source: r.source, subType: r.subType, arg2: r.args[1] });
    });
    stream.on('error', () => undefined);
    const u32 = (a: string): number => a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
    const ctLookupTo = (dst: string) => (r: { source: number; subType: number; arg2: number }) => r.source === endpointId && r.subType === DebugType.ctLookup4First && r.arg2 === u32(dst);
    try {
      await new Promise((r) => setTimeout(r, 200)); // the subscription is registered
      ping('10.212.0.1');
      const on = await unary(endpoints, 'patchEndpointConfig', agent.PatchEndpointConfigRequest.fromPartial({ id: endpointId, options: { Debug: 'true' } }), { deadline: 10_000 });
      assert.deepEqual(on.options.map((o) => [o.name, o.value]), [['Debug', 'Enabled']]);
      assert.equal(records.length, 0, 'no debug records before Debug was turned on');
      ping('10.212.0.1');
      await waitFor('a debug record of the endpoint', () => records.some(ctLookupTo('10.212.0.1')), 10_000);
      const got = await unary(endpoints, 'getEndpoint', agent.GetEndpointRequest.fromPartial({ id: endpointId }), { deadline: 10_000 });
      assert.deepEqual(got.options, { Debug: 'Enabled' });
      await assert.rejects(
        unary(endpoints, 'patchEndpointConfig', agent.PatchEndpointConfigRequest.fromPartial({ id: endpointId, options: { Debug: 'sometimes' } }), { deadline: 10_000 }),
        /Debug=sometimes: not a valid value/,
      );

      await unary(endpoints, 'patchEndpointConfig', agent.PatchEndpointConfigRequest.fromPartial({ id: endpointId, options: { Debug: 'false' } }), { deadline: 10_000 });
      records.length = 0;
      ping('10.212.0.1');
      // A barrier: Debug on again for pings to another address; records come in ring order,
      // so once the barrier's record is here, any record of the pings with Debug off would be too.
      await unary(endpoints, 'patchEndpointConfig', agent.PatchEndpointConfigRequest.fromPartial({ id: endpointId, options: { Debug: 'true' } }), { deadline: 10_000 });
      ping('10.212.0.99');
      await waitFor('the barrier\'s debug record', () => records.some(ctLookupTo('10.212.0.99')), 10_000);
      assert.equal(records.filter(ctLookupTo('10.212.0.1')).length, 0, 'no debug record of the pings sent with Debug off');
    } finally {
      stream.cancel();
    }
  });

  test('a remote dual-stack node gets an IPv6 route via its IPv6 address', async () => {
    const remote = await KvStore.connect({ endpoints: [etcd.endpoint], prefix });
    try {
      await new NodeRegistry(remote, 'c1').register({ name: 'n2', cluster: 'c1', ipv4: '192.168.212.2', podCIDR: '10.212.1.0/24', ipv6: 'fd00:192:212::2', podCIDRv6: 'fd00:212::100/120' });
      await waitFor('the IPv6 route to n2', () => /via fd00:192:212::2 dev node0 proto 193/.test(ip('-n', nodeNs, '-6', 'route', 'show', 'fd00:212::100/120')), 10_000);
      assert.match(ip('-n', nodeNs, 'route', 'show', '10.212.1.0/24'), /via 192\.168\.212\.2/);
    } finally {
      await remote.close();
    }
    await waitFor('the routes go with the node', () => ip('-n', nodeNs, '-6', 'route', 'show', 'fd00:212::100/120').trim() === '', 30_000);
  });

  test('concurrent Allocate and Release calls all succeed (IPAM saves are serialised)', async () => {
    const owners = Array.from({ length: 24 }, (_, k) => `burst${k}`);
    const family = (k: number) => (k % 2 === 0 ? 'ipv4' : 'ipv6');
    await Promise.all(owners.map((owner, k) => unary(ipam, 'allocate', agent.IpamAllocateRequest.fromPartial({ owner, family: family(k) }), { deadline: 10_000 })));
    const released = await Promise.all(owners.map((owner) => unary(ipam, 'release', agent.IpamReleaseRequest.fromPartial({ owner }), { deadline: 10_000 })));
    assert.deepEqual(released.map((r) => r.released), Array(24).fill(1));
  });

  test('IPv6 allocations survive an agent restart', async () => {
    await stopAgent();
    rmSync(socket, { force: true });
    await startAgent();
    const list = await unary(ipam, 'list', agent.IpamListRequest.fromPartial({}), { deadline: 10_000 });
    assert.ok(list.allocations.some((a) => a.ip === 'fd00:212::2' && a.owner === podNs), JSON.stringify(list.allocations));
    assert.equal(list.podCidrV6, 'fd00:212::/120');
    const cfg = await unary(endpoints, 'getEndpointConfig', agent.GetEndpointConfigRequest.fromPartial({ id: endpointId }), { deadline: 10_000 });
    assert.deepEqual(cfg.options.map((o) => [o.name, o.value]), [['Debug', 'Enabled']], 'Debug survives the restart (state file)');
    assert.equal(list.availableV6, 256 - 2 - 1, 'the /120 less the subnet-router anycast address, the router and the pod');
    const next = await unary(ipam, 'allocate', agent.IpamAllocateRequest.fromPartial({ owner: 'another', family: 'ipv6' }), { deadline: 10_000 });
    assert.equal(next.ip, 'fd00:212::3');
    const released = await unary(ipam, 'release', agent.IpamReleaseRequest.fromPartial({ owner: podNs }), { deadline: 10_000 });
    assert.equal(released.released, 2, 'release by owner frees both families');
  });
});
