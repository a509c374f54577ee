import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EndpointManager, EndpointNotFoundError, EndpointRequestError, type CreateEndpointInput } from './endpoint-manager.js';
import { EndpointOptionError } from './endpoint-options.js';
import type { DatapathPort, MapEntry } from './deps.js';
import { NodeNetns } from './netns.js';
import { StateStore } from './state-store.js';

/** A node namespace whose links are a fixed table (no kernel needed for these unit tests). */
class FakeNetns extends NodeNetns {
  constructor(private readonly links: Record<string, number>) {
    super(undefined);
  }
  override async link(name: string) {
    const ifindex = this.links[name];
    return ifindex ? { ifindex, address: '02:00:00:00:00:01', operstate: 'UP' } : undefined;
  }
}

function harness(opts: { failAttach?: boolean } = {}) {
  const calls: string[] = [];
  const ipcache = new Map<string, number>();
  const refs = new Map<string, number>();
  const datapath: DatapathPort = {
    async attachEndpoint(spec, policy: MapEntry[]) {
      calls.push(`attach ${spec.id} ${policy.length}`);
      if (opts.failAttach) throw new Error('verifier said no');
    },
    updatePolicy: (id, p) => void calls.push(`update ${id} ${p.length}`),
    async detachEndpoint(spec) {
      calls.push(`detach ${spec.id}`);
    },
    ipcacheUpsert: (cidr, id) => void ipcache.set(cidr, id),
    ipcacheDelete: (cidr) => void ipcache.delete(cidr),
    setEndpointDebug: (id, on) => void calls.push(`debug ${id} ${on}`),
  };
  let nextId = 256;
  const ids = new Map<string, number>();
  return {
    calls,
    ipcache,
    refs,
    deps: (store: StateStore) => ({
      nodeName: 'n1',
      nodeIp: '192.168.0.1',
      netns: new FakeNetns({ lxc1: 11, lxc2: 12 }),
      datapath,
      identities: {
        async allocate(labels: string[]) {
          const k = labels.join(';');
          if (!ids.has(k)) ids.set(k, nextId++);
          refs.set(k, (refs.get(k) ?? 0) + 1);
          return { id: ids.get(k)!, isNew: true };
        },
        async release(labels: string[]) {
          const k = labels.join(';');
          refs.set(k, (refs.get(k) ?? 0) - 1);
        },
      },
      ipcache: { upsert: async () => undefined, delete: async () => undefined },
      policy: { compute: () => ({ ingressEnforced: true, egressEnforced: false, entries: [{ direction: 'ingress' as const, identity: 0, protocol: 6, port: 80, deny: false }], revision: 1 }) },
      store,
      events: { created: () => undefined, deleted: () => undefined, regenerated: () => undefined },
      learnIdentity: () => false,
      log: () => undefined,
      now: () => 1n,
    }),
  };
}

const input = (n: number, extra: Partial<CreateEndpointInput> = {}): CreateEndpointInput => ({
  containerId: `c${n}`,
  netns: `/run/netns/p${n}`,
  ifname: 'eth0',
  hostIfname: `lxc${n}`,
  ipv4: `10.0.0.${n + 1}`,
  ipv6: '',
  labels: ['k8s:app=web'],
  podName: `p${n}`,
  namespace: 'default',
  mac: '',
  ...extra,
});

test('create, idempotent re-create, delete, and state files', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cts-epm-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const store = new StateStore(dir);
  await store.init();
  const h = harness();
  const m = new EndpointManager(h.deps(store));
  const ep = await m.create(input(1));
  assert.equal(ep.id, 1);
  assert.equal(ep.identity, 256);
  assert.equal(ep.state, 'ready');
  assert.equal(h.ipcache.get('10.0.0.2/32'), 256);
  assert.equal((await m.create(input(1))).id, 1, 'same container, same interface: same endpoint');
  await assert.rejects(m.create(input(1, { hostIfname: 'lxc2' })), EndpointRequestError);
  assert.deepEqual(await readdir(join(dir, 'endpoints')), ['1.json']);
  assert.equal(await m.delete({ containerId: 'c1' }), true);
  assert.equal(await m.delete({ containerId: 'c1' }), false);
  assert.deepEqual(await readdir(join(dir, 'endpoints')), []);
  assert.equal(h.ipcache.size, 0);
  assert.equal(h.refs.get('k8s:app=web'), 0);
});

test('a failing attach rolls back identity, ipcache and state', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cts-epm-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const store = new StateStore(dir);
  await store.init();
  const h = harness({ failAttach: true });
  const m = new EndpointManager(h.deps(store));
  await assert.rejects(m.create(input(1)), /verifier said no/);
  assert.equal(m.list().length, 0);
  assert.equal(h.ipcache.size, 0);
  assert.equal(h.refs.get('k8s:app=web'), 0);
  assert.deepEqual(await readdir(join(dir, 'endpoints')), []);
});

test('bad requests name the field', async () => {
  const m = new EndpointManager(harness().deps(new StateStore('/nonexistent')));
  await assert.rejects(() => m.create(input(1, { ipv4: '10.0.0.300x' })), /ipv4: "10.0.0.300x" is not an IPv4 address/);
  await assert.rejects(() => m.create(input(1, { labels: ['app=web'] })), /labels\[0\]: "app=web" is not a label/);
  await assert.rejects(() => m.create(input(1, { hostIfname: 'lxc9' })), /host_ifname: interface lxc9 does not exist/);
  await assert.rejects(() => m.create(input(1, { containerId: '' })), /container_id: is required/);
});

test('restore re-attaches endpoints whose interface exists and drops the others', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cts-epm-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const store = new StateStore(dir);
  await store.init();
  const h = harness();
  const m1 = new EndpointManager(h.deps(store));
  await m1.create(input(1));
  await m1.create(input(2));
  const saved = await store.loadAll(() => undefined);
  saved.push({ ...saved[0]!, id: 3, containerId: 'c3', hostIfname: 'lxc3', ipv4: '10.0.0.9' });
  const m2 = new EndpointManager(harness().deps(store));
  assert.equal(await m2.restore(saved), 2);
  assert.deepEqual(m2.list().map((e) => e.id), [1, 2]);
});

test('endpoint options: Debug set in the datapath and the state file, all or nothing, restored after a restart', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cts-epm-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const store = new StateStore(dir);
  await store.init();
  const h = harness();
  const m = new EndpointManager(h.deps(store));
  const ep = await m.create(input(1));
  assert.deepEqual(ep.options, { Debug: false });
  assert.ok(h.calls.includes('debug 1 false'), 'a new endpoint\'s datapath starts with its options');
  h.calls.length = 0;
  assert.deepEqual((await m.configure(1, { Debug: 'true' })).options, { Debug: true });
  assert.deepEqual(h.calls, ['debug 1 true']);
  assert.deepEqual((await store.loadAll(() => undefined))[0]!.options, { Debug: true });
  await m.configure(1, { Debug: 'enabled' });
  assert.deepEqual(h.calls, ['debug 1 true'], 'no datapath write when nothing changes');
  await assert.rejects(m.configure(1, { Debug: 'false', Bogus: 'on' }), (e: unknown) => e instanceof EndpointOptionError && e.option === 'Bogus');
  await assert.rejects(m.configure(1, { Debug: 'maybe' }), (e: unknown) => e instanceof EndpointOptionError && e.value === 'maybe');
  assert.deepEqual(m.get({ id: 1 })!.options, { Debug: true }, 'a refused change changes nothing');
  await assert.rejects(m.configure(7, { Debug: 'true' }), EndpointNotFoundError);
  // A restarted agent puts Debug back into the datapath from the state file.
  const h2 = harness();
  const m2 = new EndpointManager(h2.deps(store));
  assert.equal(await m2.restore(await store.loadAll(() => undefined)), 1);
  assert.deepEqual(m2.get({ id: 1 })!.options, { Debug: true });
  assert.ok(h2.calls.includes('debug 1 true'), h2.calls.join(', '));
});

test('a state file of an earlier version (no options) restores with the defaults', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cts-epm-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const store = new StateStore(dir);
  await store.init();
  const m = new EndpointManager(harness().deps(store));
  await m.create(input(1));
  const [st] = await store.loadAll(() => undefined);
  delete st!.options;
  const m2 = new EndpointManager(harness().deps(store));
  assert.equal(await m2.restore([st!]), 1);
  assert.deepEqual(m2.get({ id: 1 })!.options, { Debug: false });
});

test('a runtime whose labels come later: reserved:init (5, fail-closed), waiting-for-identity; setRuntimeLabels gives the identity of its labels and releases none it did not take', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cts-epm-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const store = new StateStore(dir);
  await store.init();
  const h = harness();
  const relabeled: string[] = [];
  const deps = h.deps(store);
  const m = new EndpointManager({
    ...deps,
    labelsFromRuntime: (rt) => rt === 'podman',
    events: { ...deps.events, relabeled: (ep) => void relabeled.push(`${ep.identity} ${ep.state}`) },
  });
  const ep = await m.create(input(1, { runtime: 'podman', labels: ['k8s:io.kubernetes.pod.namespace=default'] }));
  assert.equal(ep.identity, 5);
  assert.deepEqual(ep.labels, ['reserved:init']);
  assert.equal(ep.state, 'waiting-for-identity');
  assert.equal(h.ipcache.get('10.0.0.2/32'), 5);
  assert.deepEqual(h.refs.size, 0, 'reserved:init takes no cluster identity reference');
  // Restored from its state file after a restart, it keeps waiting.
  const restored = new EndpointManager({ ...deps, labelsFromRuntime: (rt) => rt === 'podman' });
  assert.equal(await restored.restore(await store.loadAll(() => undefined)), 1);
  assert.equal(restored.get({ id: 1 })?.state, 'waiting-for-identity');

  const done = await m.setRuntimeLabels(1, ['container:app=client']);
  assert.deepEqual(done.labels, ['container:app=client', 'k8s:io.kubernetes.pod.namespace=default']);
  assert.equal(done.identity, 256);
  assert.equal(done.state, 'ready');
  assert.equal(done.pendingLabels, undefined);
  assert.equal(h.ipcache.get('10.0.0.2/32'), 256);
  assert.deepEqual(relabeled, ['256 ready']);
  assert.deepEqual((await store.loadAll(() => undefined)).map((s) => [s.identity, s.pendingLabels]), [[256, undefined]]);
  await assert.rejects(m.setRuntimeLabels(1, ['container:app=other']), /not waiting for labels/);
  await assert.rejects(m.setRuntimeLabels(9, ['container:app=other']), EndpointNotFoundError);
  assert.equal(await m.delete({ id: 1 }), true);
  assert.equal(h.refs.get('container:app=client;k8s:io.kubernetes.pod.namespace=default'), 0);

  // A container that exits before its labels were read: DEL removes the init endpoint, nothing is released twice.
  const gone = await m.create(input(2, { runtime: 'podman' }));
  assert.equal(gone.identity, 5);
  assert.equal(await m.delete({ containerId: 'c2' }), true);
  assert.equal(h.ipcache.size, 0);
  assert.deepEqual([...h.refs.values()].filter((n) => n !== 0), []);
  // Runtimes that send their labels (cilium-docker) are not waited for.
  assert.equal((await m.create(input(1, { runtime: 'docker' }))).state, 'ready');
});
