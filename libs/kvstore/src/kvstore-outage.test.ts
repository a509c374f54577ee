// An etcd outage (etcd stopped with its data kept, then started again): known identities
// are still handed out, writes and deletes made meanwhile reach etcd once it answers again.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KvStore } from './kvstore.js';
import { KvStoreOperationError } from './errors.js';
import { IdentityAllocator } from './identity-allocator.js';
import { IPCacheSync } from './ipcache-sync.js';
import { NodeRegistry } from './node-registry.js';
import { startTestEtcd, waitFor, type TestEtcd } from './testing/test-etcd.js';

describe('kvstore outage', () => {
  let etcd: TestEtcd;
  let kv: KvStore;
  let observer: KvStore;
  let alloc: IdentityAllocator;

  before(async () => {
    etcd = await startTestEtcd('outage');
    kv = await KvStore.connect({ endpoints: [etcd.endpoint], prefix: 'o', healthIntervalMs: 200, sessionTtlSeconds: 30 });
    observer = await KvStore.connect({ endpoints: [etcd.endpoint], prefix: 'o', healthIntervalMs: 200 });
  });
  after(async () => {
    alloc?.close();
    await Promise.all([kv?.close(), observer?.close()]);
    await etcd?.stop();
  });

  it('serves known identities from the cache and resyncs references, ipcache entries and the node when etcd returns', async (t) => {
    alloc = new IdentityAllocator(kv, 'n1', { fallbackAfterMs: 500 });
    const nodes = new NodeRegistry(kv, 'c');
    const ipcache = new IPCacheSync(kv, 'c');
    await alloc.ready();
    await nodes.register({ name: 'n1', cluster: 'c', ipv4: '192.168.1.1' });
    const web = await alloc.allocate(['k8s:app=web']);
    const db = await alloc.allocate(['k8s:app=db']);
    await alloc.release(['k8s:app=web']);
    await ipcache.upsert({ ip: '10.0.0.9', identity: db.id, node: 'n1' });
    const ref = (labels: string): string => kv.keys.identityValue(labels, 'n1');
    assert.equal(await observer.get(ref('k8s:app=web')), undefined);

    await etcd.server.stop();
    await waitFor('status to turn disconnected', () => !kv.status().connected, 10_000);
    assert.match(kv.status().message, /cannot reach etcd/);

    // A known label set comes from the cache; an unknown one fails with the kvstore's error.
    const again = await alloc.allocate(['k8s:app=web']);
    assert.deepEqual(again, { id: web.id, isNew: false, cached: true });
    await assert.rejects(alloc.allocate(['k8s:app=new']), KvStoreOperationError);
    // A release and ipcache changes while etcd is away.
    await assert.rejects(alloc.release(['k8s:app=db']));
    await assert.rejects(ipcache.upsert({ ip: '10.0.0.10', identity: web.id, node: 'n1' }));
    await assert.rejects(ipcache.delete('10.0.0.9'));
    assert.deepEqual(alloc.pending(), { unclaimed: 1, releases: 1 });
    assert.equal(ipcache.pending, 2);

    await etcd.restart({ wipe: false });
    const back = Date.now();
    await waitFor(
      'references and ipcache to resync',
      async () =>
        (await observer.get(ref('k8s:app=web'))) === String(web.id) &&
        (await observer.get(ref('k8s:app=db'))) === undefined &&
        (await observer.get(kv.keys.ip('c', '10.0.0.10'))) !== undefined &&
        (await observer.get(kv.keys.ip('c', '10.0.0.9'))) === undefined,
      10_000,
    );
    t.diagnostic(`resync after the outage took ${Date.now() - back} ms`);
    assert.ok(kv.status().connected);
    assert.deepEqual(alloc.pending(), { unclaimed: 0, releases: 0 });
    assert.equal(ipcache.pending, 0);
    assert.ok(await observer.get(kv.keys.node('c', 'n1')), 'the node registration is there');
    nodes.close();
    ipcache.close();
  });
});
