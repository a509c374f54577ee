import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KvStore } from './kvstore.js';
import { KvStoreConnectError } from './errors.js';
import { freeTcpPort } from './etcd-process.js';
import { NodeRegistry } from './node-registry.js';
import { IPCacheSync } from './ipcache-sync.js';
import { PodCidrAssignments, PodCidrNotAssignedError } from './pod-cidr-assignments.js';
import { startTestEtcd, waitFor, type TestEtcd } from './testing/test-etcd.js';

describe('KvStore against a real etcd', () => {
  let etcd: TestEtcd;
  const stores: KvStore[] = [];
  const connect = async (opts: { sessionTtlSeconds?: number; prefix?: string } = {}) => {
    const kv = await KvStore.connect({ endpoints: [etcd.endpoint], prefix: opts.prefix ?? 'cts', ...opts, healthIntervalMs: 200 });
    stores.push(kv);
    return kv;
  };

  before(async () => {
    etcd = await startTestEtcd('kvstore');
  });
  after(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await etcd?.stop();
  });

  it('puts, gets, lists and deletes keys', async () => {
    const kv = await connect();
    assert.equal(kv.prefix, 'cts');
    assert.equal(kv.keys.heartbeat(), 'cts/.heartbeat');
    assert.deepEqual(kv.status().connected, true);
    await kv.put('cts/a/1', 'one');
    await kv.put('cts/a/2', 'two');
    await kv.put('cts/b/1', 'other');
    assert.equal(await kv.get('cts/a/1'), 'one');
    assert.equal(await kv.get('cts/a/missing'), undefined);
    assert.deepEqual([...(await kv.getPrefix('cts/a/'))].sort(), [['cts/a/1', 'one'], ['cts/a/2', 'two']]);
    assert.equal(await kv.delete('cts/a/1'), true);
    assert.equal(await kv.delete('cts/a/1'), false);
    assert.equal(await kv.deletePrefix('cts/'), 2);
  });

  it('watches a prefix: initial listing, then puts and deletes', async () => {
    const kv = await connect();
    await kv.put('cts/w/x', '1');
    const events: string[] = [];
    let synced = false;
    const w = kv.watchPrefix('cts/w/', {
      put: (k, v) => events.push(`put ${k}=${v}`),
      delete: (k) => events.push(`delete ${k}`),
      synced: () => (synced = true),
    });
    try {
      await waitFor('initial sync', () => synced);
      assert.deepEqual(events, ['put cts/w/x=1']);
      await kv.put('cts/w/y', '2');
      await kv.put('cts/other', 'not watched');
      await kv.put('cts/w/x', '3');
      await kv.delete('cts/w/y');
      await waitFor('watch events', () => events.length >= 4);
      assert.deepEqual(events, ['put cts/w/x=1', 'put cts/w/y=2', 'put cts/w/x=3', 'delete cts/w/y']);
    } finally {
      w.close();
    }
  });

  it('re-lists after an etcd restart and reports only the difference', async () => {
    const kv = await connect();
    await kv.put('cts/r/keep', 'k');
    await kv.put('cts/r/gone', 'g');
    const events: string[] = [];
    const state = new Map<string, string>();
    let synced = false;
    const statuses: boolean[] = [];
    kv.on('status', (s) => statuses.push(s.connected));
    const w = kv.watchPrefix('cts/r/', {
      put: (k, v) => {
        events.push(`put ${k}=${v}`);
        state.set(k, v);
      },
      delete: (k) => {
        events.push(`delete ${k}`);
        state.delete(k);
      },
      synced: () => (synced = true),
    });
    try {
      await waitFor('initial sync', () => synced);
      assert.deepEqual([...state].sort(), [['cts/r/gone', 'g'], ['cts/r/keep', 'k']]);
      // A restart that loses the data: the new etcd has only what we write now.
      await etcd.restart({ wipe: true });
      await waitFor('a write after the restart', async () => {
        try {
          await kv.put('cts/r/keep', 'k');
          await kv.put('cts/r/new', 'n');
          return true;
        } catch {
          return false;
        }
      });
      await waitFor('resync', () => events.includes('put cts/r/new=n') && events.includes('delete cts/r/gone'));
      // Whether the re-list ran before or after the writes, the handlers end with etcd's state.
      assert.deepEqual([...state].sort(), [['cts/r/keep', 'k'], ['cts/r/new', 'n']]);
      await kv.put('cts/r/after', 'a');
      await waitFor('watch after resync', () => events.includes('put cts/r/after=a'));
      await waitFor('status connected', () => kv.status().connected);
      assert.ok(statuses.includes(false), 'status reported the outage');
    } finally {
      w.close();
    }
  });

  it('close revokes the session (its keys go at once); close with keepSession leaves them to the TTL', async () => {
    const observer = await connect();
    const revoking = await connect({ sessionTtlSeconds: 30 });
    await revoking.put('cts/close/revoked', 'r', { lease: await revoking.session() });
    await revoking.close();
    assert.equal(await observer.get('cts/close/revoked'), undefined, 'revoked with the session');
    const keeping = await connect({ sessionTtlSeconds: 3 });
    await keeping.put('cts/close/kept', 'k', { lease: await keeping.session() });
    await keeping.close({ keepSession: true });
    assert.equal(await observer.get('cts/close/kept'), 'k', 'still there right after close');
    await waitFor('TTL expiry', async () => (await observer.get('cts/close/kept')) === undefined);
  });

  it('drops a node registration when its lease expires', async () => {
    const agent = await connect({ sessionTtlSeconds: 2 });
    const observer = await connect();
    const registry = new NodeRegistry(agent, 'c1');
    const seen = new Map<string, string | undefined>();
    let synced = false;
    const w = new NodeRegistry(observer, 'c1').watch({
      upsert: (n) => seen.set(n.name, n.podCIDR),
      delete: (name) => seen.set(name, 'deleted'),
      synced: () => (synced = true),
    });
    try {
      await waitFor('sync', () => synced);
      await registry.register({ name: 'n1', cluster: 'c1', ipv4: '10.0.0.1', podCIDR: '10.200.1.0/24' });
      await waitFor('registration', () => seen.get('n1') === '10.200.1.0/24');
      assert.deepEqual((await new NodeRegistry(observer).list()).map((n) => n.name), ['n1']);
      // The agent stops renewing its lease, as a crashed agent would.
      (await agent.session()).release();
      await waitFor('lease expiry', () => seen.get('n1') === 'deleted');
      assert.equal(await observer.get(observer.keys.node('c1', 'n1')), undefined);
    } finally {
      w.close();
      registry.close();
    }
  });

  it('publishes ipcache entries under the session lease', async () => {
    const agent = await connect();
    const observer = await connect();
    const mine = new IPCacheSync(agent, 'c1');
    const seen = new Map<string, number>();
    const w = new IPCacheSync(observer, 'c1').watch({ upsert: (e) => seen.set(e.ip, e.identity), delete: (ip) => seen.delete(ip) });
    try {
      await mine.upsert({ ip: '10.200.1.5', identity: 300, hostIP: '10.0.0.1', node: 'n1', namespace: 'default', pod: 'web' });
      await waitFor('ipcache upsert', () => seen.get('10.200.1.5') === 300);
      const raw = JSON.parse((await agent.get('cts/state/ip/v1/c1/10.200.1.5')) ?? '{}') as { pod?: string };
      assert.equal(raw.pod, 'web');
      await mine.delete('10.200.1.5');
      await waitFor('ipcache delete', () => !seen.has('10.200.1.5'));
    } finally {
      w.close();
      mine.close();
    }
  });

  it('re-creates session-bound keys after etcd lost them', async () => {
    const agent = await connect({ sessionTtlSeconds: 2 });
    const registry = new NodeRegistry(agent, 'c9');
    const ipcache = new IPCacheSync(agent, 'c9');
    try {
      await registry.register({ name: 'n9', cluster: 'c9', ipv4: '10.0.0.9' });
      await ipcache.upsert({ ip: '10.200.9.9', identity: 400, node: 'n9' });
      const before = await agent.session();
      const renewed = new Promise((resolve) => agent.once('session', resolve));
      await etcd.restart({ wipe: true });
      await renewed;
      assert.notEqual((await agent.session()).id, before.id);
      await waitFor('node registration re-created', async () => {
        try {
          return (await agent.get(agent.keys.node('c9', 'n9'))) !== undefined && (await agent.get(agent.keys.ip('c9', '10.200.9.9'))) !== undefined;
        } catch {
          return false;
        }
      });
    } finally {
      registry.close();
      ipcache.close();
    }
  });

  it('waits for the pod CIDR the operator assigns', async () => {
    const agent = await connect();
    const operator = await connect();
    const assignments = new PodCidrAssignments(agent);
    await operator.put(operator.keys.ipamNode('n10'), '10.200.10.0/24');
    const waiting = assignments.waitFor('n1', 10_000);
    await operator.put(operator.keys.ipamNode('n1'), '10.200.1.0/24');
    assert.equal(await waiting, '10.200.1.0/24', 'the assignment of n10 is not mistaken for n1');
    assert.equal(await assignments.get('n1'), '10.200.1.0/24');
    await assert.rejects(assignments.waitFor('nobody', 300), PodCidrNotAssignedError);
  });

  it('fails to connect to a bad endpoint with a clear error', async () => {
    const port = await freeTcpPort();
    await assert.rejects(
      KvStore.connect({ endpoints: [`http://127.0.0.1:${port}`], dialTimeoutMs: 1000 }),
      (err: unknown) => {
        assert.ok(err instanceof KvStoreConnectError);
        assert.match(err.message, new RegExp(`connect to etcd at http://127.0.0.1:${port} failed`));
        assert.match(err.message, /tools\/etcd start/);
        return true;
      },
    );
    await assert.rejects(KvStore.connect({ endpoints: [] }), KvStoreConnectError);
  });
});
