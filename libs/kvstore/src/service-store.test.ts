import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ServiceValidationError, validateService, type Service } from '@cilium-ts/loadbalancer';
import { KvStore } from './kvstore.js';
import { ServiceStore } from './service-store.js';
import { startTestEtcd, waitFor, type TestEtcd } from './testing/test-etcd.js';

const svc = (id: number, ip: string, backends: string[] = []): Service =>
  validateService({ id, frontend: { ip, port: 80 }, backends: backends.map((b) => ({ ip: b, port: 8080 })) }, { podCidrs: [], maxBackends: 16 });

describe('ServiceStore against a real etcd', () => {
  let etcd: TestEtcd;
  const stores: KvStore[] = [];
  before(async () => {
    etcd = await startTestEtcd('services');
  });
  after(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await etcd?.stop();
  });
  const connect = async () => {
    const kv = await KvStore.connect({ endpoints: [etcd.endpoint], prefix: 'cts', healthIntervalMs: 200 });
    stores.push(kv);
    return new ServiceStore(kv, 'c1');
  };

  it('a service written by one node reaches the watch of another; an id keeps its frontend; a wiped etcd is resynced', async () => {
    const a = await connect();
    const b = await connect();
    const seen = new Map<number, Service>();
    const invalid: string[] = [];
    let synced = false;
    const w = b.watch({ upsert: (s) => seen.set(s.id, s), delete: (id) => seen.delete(id), synced: () => (synced = true), invalid: (k) => invalid.push(k) });
    try {
      await waitFor('sync', () => synced);
      await a.upsert(svc(1, '10.96.0.1', ['10.0.1.1']));
      await waitFor('service 1 on node b', () => seen.get(1)?.backends.length === 1);
      await a.upsert(svc(1, '10.96.0.1', ['10.0.1.1', '10.0.1.2']));
      await waitFor('service 1 updated on node b', () => seen.get(1)?.backends.length === 2);
      await assert.rejects(
        b.upsert(svc(1, '10.96.0.9')),
        (e: unknown) => e instanceof ServiceValidationError && e.field === 'frontend' && /already has the frontend 10.96.0.1:80\/TCP/.test(e.message),
      );
      assert.deepEqual((await a.get(1))?.backends.map((x) => x.ip), ['10.0.1.1', '10.0.1.2'], 'a refused update changes nothing');
      await a.upsert(svc(2, '10.96.0.2'));
      await waitFor('service 2', () => seen.has(2));
      // Something that is not a service is skipped, not applied.
      await stores[0]!.put('cts/state/services/v1/c1/3', '{"id":3,"frontend":{"ip":"nope","port":80}}');
      await waitFor('invalid reported', () => invalid.length === 1);
      assert.equal(seen.has(3), false);
      assert.equal(await a.delete(2), true);
      await waitFor('service 2 gone', () => !seen.has(2));
      // etcd loses its data: the watch lists again and reports the difference.
      await etcd.restart({ wipe: true });
      await waitFor('services gone with the data', () => seen.size === 0, 30_000);
      await a.upsert(svc(4, '10.96.0.4'));
      await waitFor('service 4 after the wipe', () => seen.has(4), 30_000);
      assert.equal(await a.deleteAll(), 1);
      await waitFor('all deleted', () => seen.size === 0);
    } finally {
      w.close();
    }
  });
});
