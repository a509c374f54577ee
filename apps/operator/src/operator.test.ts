// The operator against a real etcd: as a child process (flags, gRPC Status over its
// unix socket, SIGTERM) and in-process (leader election between two operators).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { operator as api } from '@cilium-ts/api';
import { createClient, unary } from '@cilium-ts/grpc';
import { freeTcpPort, IdentityAllocator, IPCacheSync, KvStore, NodeRegistry } from '@cilium-ts/kvstore';
import { startTestEtcd, waitFor, type TestEtcd } from '@cilium-ts/kvstore/testing';
import { Operator } from './operator.js';

const mainJs = fileURLToPath(new URL('./main.js', import.meta.url));

describe('operator against a real etcd', () => {
  let etcd: TestEtcd;
  let dir: string;
  const closers: Array<() => unknown> = [];
  const connect = async (prefix: string) => {
    const kv = await KvStore.connect({ endpoints: [etcd.endpoint], prefix, sessionTtlSeconds: 5 });
    closers.push(() => kv.close());
    return kv;
  };

  before(async () => {
    etcd = await startTestEtcd('operator');
    dir = mkdtempSync(join(tmpdir(), 'cts-operator-'));
  });
  after(async () => {
    for (const c of closers.reverse()) await c();
    await etcd?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('assigns distinct pod CIDRs, releases them, collects identities and answers Status over gRPC; a removed node loses its CIDR, references and identities', async () => {
    const socket = join(dir, 'operator.sock');
    const metricsPort = await freeTcpPort();
    let output = '';
    const child: ChildProcess = spawn(
      process.execPath,
      [
        mainJs,
        '--kvstore-endpoints', etcd.endpoint,
        '--kvstore-prefix', 'op1',
        '--cluster-name', 'c1',
        '--cluster-pool-ipv4-cidr', '10.200.0.0/16',
        '--cluster-pool-ipv4-mask-size', '24',
        '--listen', `unix://${socket}`,
        '--identity-gc-interval', '200ms',
        '--identity-gc-grace', '400ms',
        '--heartbeat-interval', '200ms',
        '--leader-election-ttl', '2s',
        '--log-level', 'debug',
        '--metrics-port', String(metricsPort),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.on('data', (d) => (output += d));
    child.stderr?.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    closers.push(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    try {
      const kv = await connect('op1');
      const n1 = new NodeRegistry(await connect('op1'), 'c1');
      const n2 = new NodeRegistry(await connect('op1'), 'c1');
      const n3 = new NodeRegistry(await connect('op1'), 'c1');
      const n4 = new NodeRegistry(await connect('op1'), 'c1');
      await Promise.all([
        n1.register({ name: 'n1', cluster: 'c1', ipv4: '192.168.0.1' }),
        n2.register({ name: 'n2', cluster: 'c1', ipv4: '192.168.0.2' }),
        // An agent started with its own CIDR inside the pool keeps it; one outside the pool gets none.
        n3.register({ name: 'n3', cluster: 'c1', ipv4: '192.168.0.3', podCIDR: '10.200.77.0/24' }),
        n4.register({ name: 'n4', cluster: 'c1', ipv4: '192.168.0.4', podCIDR: '172.16.0.0/24' }),
      ]);
      const ipam = async () => new Map([...(await kv.getPrefix(kv.keys.ipamNodesPrefix()))].map(([k, v]) => [k.split('/').pop()!, v]));
      await waitFor('CIDRs for n1, n2, n3', async () => (await ipam()).size === 3, 20_000).catch((e) => {
        throw new Error(`${(e as Error).message}; operator output:\n${output}`);
      });
      const first = await ipam();
      assert.deepEqual(new Set([first.get('n1'), first.get('n2')]), new Set(['10.200.0.0/24', '10.200.1.0/24']));
      assert.equal(first.get('n3'), '10.200.77.0/24');
      assert.equal(first.has('n4'), false);

      // n1 goes away: its CIDR is released and is the next one handed out.
      const released = first.get('n1');
      await n1.deregister();
      await waitFor('release of n1', async () => !(await ipam()).has('n1'));
      const n5 = new NodeRegistry(await connect('op1'), 'c1');
      await n5.register({ name: 'n5', cluster: 'c1' });
      await waitFor('CIDR for n5', async () => (await ipam()).has('n5'));
      assert.equal((await ipam()).get('n5'), released);

      // Identity GC: an unreferenced id goes after the grace period, a referenced one stays.
      const alloc = new IdentityAllocator(await connect('op1'), 'n2');
      closers.push(() => alloc.close());
      const used = await alloc.allocate(['k8s:app=used']);
      await kv.put(kv.keys.identityId(999), 'k8s:app=orphan');
      await waitFor('GC of the orphan identity', async () => (await kv.get(kv.keys.identityId(999))) === undefined);
      assert.equal(await kv.get(kv.keys.identityId(used.id)), 'k8s:app=used');

      // Heartbeat.
      const beat = await kv.get(kv.keys.heartbeat());
      assert.ok(beat && !Number.isNaN(Date.parse(beat)), `heartbeat is a time: ${beat}`);

      // Prometheus metrics.
      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      assert.match(metrics, /^cilium_operator_is_leader\S* 1/m);
      assert.match(metrics, /^cilium_operator_ipam_allocated_cidrs\S* 3/m);
      assert.match(metrics, /^cilium_operator_identity_gc_deleted\S* 1/m);

      // Status over the unix socket.
      await waitFor('operator socket', () => existsSync(socket));
      const client = createClient(api.OperatorClient, `unix://${socket}`);
      try {
        const status = await unary(client, 'status', api.StatusRequest.create(), { deadline: 5000 });
        assert.equal(status.clusterName, 'c1');
        assert.equal(status.leader, true);
        assert.equal(status.state, 'ok');
        assert.equal(status.kvstoreConnected, true);
        assert.equal(status.clusterPoolCidr, '10.200.0.0/16');
        assert.equal(status.nodeMaskSize, 24);
        assert.ok(status.leaderId.length > 0);
        assert.ok(status.lastHeartbeat, 'last heartbeat reported');
        assert.deepEqual(
          status.allocations.map((a) => a.nodeName),
          ['n2', 'n3', 'n5'],
        );
        assert.equal(status.identities, 1);
      } finally {
        client.close();
      }

      // Node removal: n6 is deregistered while its session lease lives on, so its identity
      // reference and ipcache entry outlive the registration; the node GC removes them, the
      // identity GC then the identity, and IPAM releases the CIDR.
      const n6kv = await connect('op1');
      const n6 = new NodeRegistry(n6kv, 'c1');
      await n6.register({ name: 'n6', cluster: 'c1', ipv4: '192.168.0.6' });
      await waitFor('CIDR for n6', async () => (await ipam()).has('n6'));
      const alloc6 = new IdentityAllocator(n6kv, 'n6');
      closers.push(() => alloc6.close());
      const only6 = await alloc6.allocate(['k8s:app=only-on-n6']);
      const ipc6 = new IPCacheSync(n6kv, 'c1');
      await ipc6.upsert({ ip: '10.200.9.9', identity: only6.id, node: 'n6' });
      const shared = await alloc6.allocate(['k8s:app=used']);
      assert.equal(shared.id, used.id);
      await n6.deregister();
      await waitFor('release of the CIDR of n6', async () => !(await ipam()).has('n6'));
      await waitFor('removal of the keys n6 left behind', async () =>
        (await kv.getPrefix(kv.keys.identityValueLabelsPrefix('k8s:app=only-on-n6'))).size === 0 && (await kv.get(kv.keys.ip('c1', '10.200.9.9'))) === undefined,
      );
      await waitFor('GC of the identity only n6 used', async () => (await kv.get(kv.keys.identityId(only6.id))) === undefined);
      assert.equal(await kv.get(kv.keys.identityId(used.id)), 'k8s:app=used', 'an identity n2 still references stays');
      assert.equal(await kv.get(kv.keys.identityValue('k8s:app=used', 'n2')), String(used.id));
    } finally {
      child.kill('SIGTERM');
      const code = await exited;
      assert.equal(code, 0, `operator exits 0 on SIGTERM; output:\n${output}`);
    }
    assert.equal(existsSync(socket), false, 'the socket is removed on shutdown');
  });

  it('elects one leader among two operators and fails over when it stops', async () => {
    const cfg = {
      clusterName: 'c2',
      poolCidr: '10.201.0.0/16',
      maskSize: 24,
      poolCidrV6: 'fd00:10:201::/112',
      maskSizeV6: 120,
      identityGcIntervalMs: 60_000,
      identityGcGraceMs: 60_000,
      heartbeatIntervalMs: 60_000,
      electionTtlSeconds: 2,
    };
    const a = new Operator(await connect('op2'), { ...cfg, id: 'op-a' });
    const b = new Operator(await connect('op2'), { ...cfg, id: 'op-b' });
    closers.push(() => a.stop(), () => b.stop());
    a.start();
    await waitFor('a leads', () => a.election.isLeader);
    b.start();
    const kv = await connect('op2');
    await new NodeRegistry(kv, 'c2').register({ name: 'x', cluster: 'c2' });
    await waitFor('x gets a CIDR', async () => (await kv.get(kv.keys.ipamNode('x'))) === '10.201.0.0/24');
    await waitFor('x gets an IPv6 CIDR', async () => (await kv.get(kv.keys.ipamNodeV6('x'))) === 'fd00:10:201::/120');
    assert.equal(b.election.isLeader, false);
    const bs = await b.status();
    assert.equal(bs.leaderId, 'op-a');
    assert.match(bs.message, /standing by; leader is op-a/);
    await a.stop();
    await waitFor('b takes over', () => b.election.isLeader);
    await new NodeRegistry(await connect('op2'), 'c2').register({ name: 'y', cluster: 'c2' });
    await waitFor('y gets a CIDR from the new leader', async () => (await kv.get(kv.keys.ipamNode('y'))) === '10.201.1.0/24');
    await waitFor('y gets an IPv6 CIDR from the new leader', async () => (await kv.get(kv.keys.ipamNodeV6('y'))) === 'fd00:10:201::100/120');
    assert.equal((await b.status()).leader, true);
  });
});
