// The LoadBalancer API of two agents' service managers over one real etcd: bad input is
// INVALID_ARGUMENT naming the field and changes nothing, a service created through one
// node reaches the other, and a manager restarted without etcd serves the last known services.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { lb } from '@cilium-ts/api';
import { createClient, createServer, unary, type GrpcServer } from '@cilium-ts/grpc';
import { KvStore, ServiceStore } from '@cilium-ts/kvstore';
import { startTestEtcd, waitFor, type TestEtcd } from '@cilium-ts/kvstore/testing';
import type { Service } from '@cilium-ts/loadbalancer';
import { lbServices } from './api-lb.js';
import { ServiceManager, type ServiceDatapath } from './service-manager.js';

/** A datapath stand-in that records what it was told (the kernel side is tested in libs/bpf). */
class RecordingDatapath implements ServiceDatapath {
  readonly services = new Map<number, Service>();
  upsertService(svc: Service): void {
    this.services.set(svc.id, svc);
  }
  deleteService(id: number): void {
    this.services.delete(id);
  }
}

describe('LoadBalancer API over a real etcd', () => {
  let etcd: TestEtcd;
  let dir: string;
  const closers: Array<() => unknown> = [];
  before(async () => {
    etcd = await startTestEtcd('lb-api');
    dir = mkdtempSync(join(tmpdir(), 'cts-lb-api-'));
  });
  after(async () => {
    for (const c of closers.reverse()) await c();
    await etcd?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const node = async (name: string) => {
    const kv = await KvStore.connect({ endpoints: [etcd.endpoint], prefix: 'cts', healthIntervalMs: 200 });
    const datapath = new RecordingDatapath();
    const mgr = new ServiceManager({
      store: new ServiceStore(kv, 'c1'),
      datapath,
      stateFile: join(dir, name, 'services.json'),
      podCidrs: () => ['10.0.0.0/16'],
      maxBackends: 4,
      log: () => undefined,
    });
    await mgr.restore();
    mgr.start();
    const server: GrpcServer = await createServer({ component: 'agent', services: lbServices({ services: mgr }), addresses: [`unix://${join(dir, `${name}.sock`)}`] });
    const client = createClient(lb.LoadBalancerClient, `unix://${join(dir, `${name}.sock`)}`);
    closers.push(() => kv.close(), () => mgr.close(), () => server.shutdown({ timeoutMs: 1000 }), () => client.close());
    return { kv, mgr, datapath, client };
  };

  it('validates, propagates, deletes, and survives a restart without etcd', async () => {
    const a = await node('a');
    const b = await node('b');
    const svc = { id: 5, frontend: { ip: '10.96.0.5', port: 80, protocol: 'TCP' }, backends: [{ ip: '10.0.1.1', port: 8080 }, { ip: '10.0.2.1', port: 8080, state: 'terminating' }] };
    const t0 = process.hrtime.bigint();
    const created = await unary(a.client, 'updateService', { service: lb.LbService.fromPartial(svc) });
    assert.deepEqual(created.backends.map((x) => `${x.ip}:${x.port} ${x.state} ${x.weight}`), ['10.0.1.1:8080 active 1', '10.0.2.1:8080 terminating 1']);
    await waitFor('service 5 on node b', () => b.datapath.services.has(5));
    const propagationMs = Number(process.hrtime.bigint() - t0) / 1e6;
    console.log(`# service propagation from an update on node a to node b's datapath: ${propagationMs.toFixed(1)} ms`);
    assert.equal((await unary(b.client, 'getService', { id: 5 })).frontend?.ip, '10.96.0.5');

    const bad: Array<[object, string]> = [
      [{ ...svc, frontend: { ip: '10.96.0.500', port: 80 } }, 'frontend.ip'],
      [{ ...svc, frontend: { ip: '10.96.0.5', port: 0 } }, 'frontend.port'],
      [{ ...svc, frontend: { ip: '10.96.0.5', port: 80, protocol: 'ICMP' } }, 'frontend.protocol'],
      [{ ...svc, frontend: { ip: '10.0.9.9', port: 80 } }, 'frontend.ip'],
      [{ ...svc, frontend: { ip: '10.96.0.6', port: 80 } }, 'frontend'],
      [{ ...svc, id: 6 }, 'frontend'],
      [{ ...svc, backends: [{ ip: '10.0.1.1', port: 70000 }] }, 'backends[0].port'],
      [{ ...svc, backends: Array.from({ length: 5 }, (_, i) => ({ ip: `10.0.3.${i + 1}`, port: 80 })) }, 'backends'],
    ];
    for (const [s, field] of bad) {
      await assert.rejects(
        unary(b.client, 'updateService', { service: lb.LbService.fromPartial(s) }),
        (e: { code: number; details: string }) => e.code === status.INVALID_ARGUMENT && e.details.startsWith(`${field}: `),
        `${JSON.stringify(s)} -> INVALID_ARGUMENT on ${field}`,
      );
    }
    // Nothing changed anywhere.
    assert.deepEqual((await unary(a.client, 'listServices', {})).services.map((s) => s.id), [5]);
    assert.equal(a.datapath.services.get(5)?.backends.length, 2);
    await assert.rejects(unary(a.client, 'getService', { id: 9 }), (e: { code: number }) => e.code === status.NOT_FOUND);
    await assert.rejects(unary(a.client, 'deleteService', { id: 9, all: false }), (e: { code: number }) => e.code === status.NOT_FOUND);

    // Node b stops; while it is down etcd goes away too; its successor serves from services.json.
    await unary(a.client, 'updateService', { service: lb.LbService.fromPartial({ ...svc, id: 7, frontend: { ip: '10.96.0.7', port: 53, protocol: 'UDP' } }) });
    await waitFor('service 7 saved by node b', () => b.mgr.list().length === 2);
    await b.mgr.close();
    await etcd.server.stop();
    const kv = await KvStore.connect({ endpoints: [etcd.endpoint], prefix: 'cts', healthIntervalMs: 200 }).catch(() => undefined);
    assert.equal(kv, undefined, 'etcd is down');
    const datapath = new RecordingDatapath();
    const restarted = new ServiceManager({ store: new ServiceStore(a.kv, 'c1'), datapath, stateFile: join(dir, 'b', 'services.json'), podCidrs: () => [], maxBackends: 4, log: () => undefined });
    assert.equal(await restarted.restore(), 2);
    assert.deepEqual([...datapath.services.keys()].sort(), [5, 7]);
    await etcd.restart({ wipe: false });
    assert.equal((await unary(a.client, 'deleteService', { id: 0, all: true })).deleted, 2);
    await waitFor('node a sees the delete', () => a.datapath.services.size === 0, 30_000);
  });
});
