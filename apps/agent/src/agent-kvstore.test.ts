// A real agent process (with --pod-cidr, in its own node namespace) against a real etcd:
// identity references follow the endpoints of a label set, and an etcd outage leaves the
// datapath working, lets pods with known identities come up, is reported by the status,
// and is repaired (node, ipcache, identity references) when etcd returns.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess, execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { agent } from '@cilium-ts/api';
import { createClient, unary } from '@cilium-ts/grpc';
import { KvStore } from '@cilium-ts/kvstore';
import { startTestEtcd, waitFor, type TestEtcd } from '@cilium-ts/kvstore/testing';

const skip = process.getuid?.() !== 0 && process.env.CI !== 'true' ? 'needs root' : false;
const mainJs = join(dirname(fileURLToPath(import.meta.url)), 'main.js');
const tag = `akv${process.pid}`;
const nodeNs = `cts-${tag}-n1`;
const podCidr = '10.211.0.0/24';
const router = '10.211.0.1';
const prefix = 'akv';
const pinDir = `/sys/fs/bpf/cts-${tag}`; // its own top-level dir: nothing of it is left after the test
// Length of the etcd outage; CTS_OUTAGE_SECONDS=60 runs the full minute (the session lease is then lost and renewed).
const outageMs = Number(process.env.CTS_OUTAGE_SECONDS ?? 10) * 1000;

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' });
const ping = (fromNs: string, to: string): boolean => spawnSync('ip', ['netns', 'exec', fromNs, 'ping', '-c', '1', '-W', '1', to]).status === 0;

describe('agent with a real etcd', { skip }, () => {
  let etcd: TestEtcd;
  let kv: KvStore;
  let dir: string;
  let child: ChildProcess | undefined;
  let output = '';
  const pods: string[] = [];
  const clients: Array<{ close(): void }> = [];
  let ipam: agent.IpamClient;
  let endpoints: agent.EndpointsClient;
  let daemon: agent.DaemonClient;

  /** Creates a pod namespace and its veth the way the CNI plugin does, then the endpoint (in namespace default). */
  async function pod(name: string, appLabels: string[]): Promise<{ ns: string; ip: string; ep: agent.Endpoint }> {
    const labels = [...appLabels, 'k8s:io.kubernetes.pod.namespace=default'];
    const ns = `cts-${tag}-${name}`;
    const host = `lxc${name}`.slice(0, 15);
    ip('netns', 'add', ns);
    pods.push(ns);
    ip('-n', nodeNs, 'link', 'add', host, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    const { ip: addr } = await unary(ipam, 'allocate', agent.IpamAllocateRequest.fromPartial({ owner: ns, family: 'ipv4' }), { deadline: 10_000 });
    ip('-n', ns, 'addr', 'add', `${addr}/32`, 'dev', 'eth0');
    ip('-n', ns, 'link', 'set', 'eth0', 'up');
    ip('-n', ns, 'route', 'add', router, 'dev', 'eth0', 'scope', 'link');
    ip('-n', ns, 'route', 'add', 'default', 'via', router);
    ip('-n', nodeNs, 'link', 'set', host, 'up');
    execFileSync('ip', ['netns', 'exec', nodeNs, 'sysctl', '-q', '-w', `net.ipv4.conf.${host}.proxy_arp=1`]);
    ip('-n', nodeNs, 'route', 'add', `${addr}/32`, 'dev', host);
    const ep = await unary(
      endpoints,
      'createEndpoint',
      agent.CreateEndpointRequest.fromPartial({ containerId: ns, netns: `/run/netns/${ns}`, ifname: 'eth0', hostIfname: host, ipv4: addr, labels, podName: name, namespace: 'default' }),
      { deadline: 15_000 },
    );
    return { ns, ip: addr, ep };
  }

  async function deletePod(ns: string): Promise<void> {
    await unary(endpoints, 'deleteEndpoint', agent.DeleteEndpointRequest.fromPartial({ containerId: ns }), { deadline: 10_000 });
    await unary(ipam, 'release', agent.IpamReleaseRequest.fromPartial({ owner: ns }), { deadline: 10_000 });
    ip('netns', 'delete', ns);
    pods.splice(pods.indexOf(ns), 1);
  }

  /** This node's identity references in etcd: labels -> id. */
  async function references(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const [k, v] of await kv.getPrefix(kv.keys.identityValuePrefix())) {
      const p = kv.keys.parseIdentityValue(k);
      if (p?.node === 'n1') out.set(p.labels.replace(';k8s:io.kubernetes.pod.namespace=default', ''), v);
    }
    return out;
  }

  async function kvstoreStatus(): Promise<agent.SubsystemStatus | undefined> {
    const st = await unary(daemon, 'status', agent.StatusRequest.fromPartial({}), { deadline: 5000 });
    return st.subsystems.find((s) => s.name === 'kvstore');
  }

  before(async () => {
    etcd = await startTestEtcd('agent');
    kv = await KvStore.connect({ endpoints: [etcd.endpoint], prefix, healthIntervalMs: 200 });
    dir = mkdtempSync(join(tmpdir(), 'cts-agent-kv-'));
    ip('netns', 'add', nodeNs);
    const socket = join(dir, 'agent.sock');
    // prettier-ignore
    child = spawn(process.execPath, [
      mainJs,
      '--node-name', 'n1', '--cluster-name', 'c1',
      '--node-netns', `/run/netns/${nodeNs}`, '--node-ip', '192.168.201.1', '--pod-cidr', podCidr,
      '--kvstore-endpoints', etcd.endpoint, '--kvstore-prefix', prefix, '--kvstore-lease-ttl', '15s',
      '--state-dir', join(dir, 'state'), '--bpf-pin-dir', pinDir,
      '--listen', `unix://${socket}`, '--log-level', 'info',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d) => (output += d));
    child.stderr?.on('data', (d) => (output += d));
    await waitFor('the agent socket', () => existsSync(socket) || child?.exitCode !== null, 60_000);
    assert.ok(existsSync(socket), `the agent did not start:\n${output}`);
    ipam = createClient(agent.IpamClient, `unix://${socket}`);
    endpoints = createClient(agent.EndpointsClient, `unix://${socket}`);
    daemon = createClient(agent.DaemonClient, `unix://${socket}`);
    clients.push(ipam, endpoints, daemon);
  });

  after(async () => {
    for (const c of clients) c.close();
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child?.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
    for (const ns of pods) spawnSync('ip', ['netns', 'delete', ns]);
    spawnSync('ip', ['netns', 'delete', nodeNs]);
    rmSync(pinDir, { recursive: true, force: true });
    await kv?.close();
    await etcd?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('an IPv4-only node refuses IPv6 allocations with FAILED_PRECONDITION (CNI then sets up IPv4 only)', async () => {
    await assert.rejects(
      unary(ipam, 'allocate', agent.IpamAllocateRequest.fromPartial({ owner: 'v6', family: 'ipv6' }), { deadline: 10_000 }),
      (err: { code?: number; message?: string }) => err.code === 9 && /runs IPv4 only/.test(err.message ?? ''),
    );
  });

  test('a metadata subscriber hears of an identity this node allocates first (hubble-server labels remote sources with it)', async () => {
    const metadata = createClient(agent.MetadataClient, endpoints.getChannel().getTarget());
    clients.push(metadata);
    const call = metadata.watch(agent.MetadataWatchRequest.fromPartial({}));
    const seen: agent.Identity[] = [];
    let synced = false;
    call.on('data', (e: agent.MetadataEvent) => {
      if (e.kind === agent.MetadataEvent_Kind.SYNCED) synced = true;
      if (e.identity && e.kind === agent.MetadataEvent_Kind.UPSERT) seen.push(e.identity);
    });
    call.on('error', () => undefined);
    try {
      await waitFor('the metadata snapshot', () => synced, 10_000);
      const p = await pod('meta', ['k8s:app=meta-first']);
      await waitFor('an identity upsert for the new label set', () => seen.some((i) => i.id === p.ep.identity), 10_000);
      assert.ok(seen.find((i) => i.id === p.ep.identity)?.labels.includes('k8s:app=meta-first'));
      await deletePod(p.ns);
    } finally {
      call.cancel();
    }
  });

  test('the node reference of a label set goes when the last endpoint with those labels goes', async () => {
    const a = await pod('rela', ['k8s:app=rel']);
    const b = await pod('relb', ['k8s:app=rel']);
    assert.equal(a.ep.identity, b.ep.identity);
    assert.equal((await references()).get('k8s:app=rel'), String(a.ep.identity));
    await deletePod(a.ns);
    assert.equal((await references()).get('k8s:app=rel'), String(a.ep.identity), 'one endpoint still uses it');
    await deletePod(b.ns);
    assert.equal((await references()).has('k8s:app=rel'), false, 'released with the last endpoint');
    assert.equal(await kv.get(kv.keys.identityId(a.ep.identity)), 'k8s:app=rel;k8s:io.kubernetes.pod.namespace=default', 'the id itself stays for the operator\u2019s GC');
  });

  test('an etcd outage keeps connectivity and policy, admits known identities, is reported, and resyncs', async (t) => {
    const web = await pod('web', ['k8s:app=web']);
    const client = await pod('client', ['k8s:app=client']);
    const other = await pod('other', ['k8s:app=other']);
    // A label set whose id exists but that this node no longer references.
    const batch = await pod('batch', ['k8s:app=batch']);
    await deletePod(batch.ns);
    const policy = agent.PolicyImportRequest.fromPartial({
      document: JSON.stringify({
        apiVersion: 'cilium.io/v2',
        kind: 'CiliumNetworkPolicy',
        metadata: { name: 'web-from-client', namespace: 'default' },
        spec: { endpointSelector: { matchLabels: { app: 'web' } }, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'client' } }] }] },
      }),
      source: 'test',
    });
    const policyClient = createClient(agent.PolicyClient, endpoints.getChannel().getTarget());
    clients.push(policyClient);
    await unary(policyClient, 'import', policy, { deadline: 10_000 });
    await waitFor('client -> web allowed', () => ping(client.ns, web.ip), 10_000);
    assert.equal(ping(other.ns, web.ip), false, 'other -> web denied');

    await etcd.server.stop();
    const down = Date.now();
    await waitFor('kvstore degraded in the status', async () => (await kvstoreStatus())?.state === 'degraded', 10_000);
    const degraded = (await kvstoreStatus())!;
    assert.match(degraded.message, /cannot reach etcd/);
    assert.match(degraded.message, /last error/);

    assert.ok(ping(client.ns, web.ip), 'client -> web still allowed');
    assert.equal(ping(other.ns, web.ip), false, 'other -> web still denied');
    const client2 = await pod('client2', ['k8s:app=client']);
    assert.equal(client2.ep.identity, client.ep.identity);
    assert.ok(ping(client2.ns, web.ip), 'a new client pod reaches web');
    const batch2 = await pod('batch2', ['k8s:app=batch']);
    assert.equal(batch2.ep.identity, batch.ep.identity, 'a known label set gets its id from the cache');
    await assert.rejects(pod('fresh', ['k8s:app=fresh']), 'a label set without an id cannot come up without etcd');
    assert.match((await kvstoreStatus())!.message, /1 identity reference\(s\) to claim/);

    await new Promise((r) => setTimeout(r, Math.max(0, outageMs - (Date.now() - down))));
    await etcd.restart({ wipe: false });
    const back = Date.now();
    const synced = async (): Promise<boolean> => {
      const refs = await references();
      for (const [labels, p] of [['k8s:app=batch', batch], ['k8s:app=client', client], ['k8s:app=web', web], ['k8s:app=other', other]] as const) {
        if (refs.get(labels) !== String(p.ep.identity)) return false;
      }
      for (const p of [web, client, other, client2, batch2]) if ((await kv.get(kv.keys.ip('c1', p.ip))) === undefined) return false;
      return (await kv.get(kv.keys.node('c1', 'n1'))) !== undefined && (await kvstoreStatus())?.state === 'ok';
    };
    await waitFor('node, ipcache and identity references in etcd, and status ok', synced, 15_000);
    t.diagnostic(`etcd was away for ${back - down} ms; everything resynced ${Date.now() - back} ms after it answered again`);
    assert.doesNotMatch((await kvstoreStatus())!.message, /waiting for etcd/);
    if (outageMs > 30_000) {
      // The old session lease was lost: once etcd lets it expire (its TTL after the restart), every key must still be there.
      await new Promise((r) => setTimeout(r, 20_000));
      assert.ok(await synced(), 'keys survive the expiry of the lost session lease');
    }
    assert.ok(ping(client2.ns, web.ip));
  });
});
