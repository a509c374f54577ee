// Cluster-wide policy against a real etcd: two agents' policy repositories (each with its
// own kvstore connection and state file) enforce the set one of them imports, invalid input
// stores nothing, node-local rules stay on their node, `wait` times out naming the enforced
// revision, and an etcd outage leaves the persisted set enforced until etcd returns.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterPolicyStore, KvStore } from '@cilium-ts/kvstore';
import { startTestEtcd, type TestEtcd } from '@cilium-ts/kvstore/testing';
import { PolicyValidationError } from '@cilium-ts/policy';
import { ClusterPolicy, ClusterPolicyUnavailableError, PolicyWaitTimeoutError } from './cluster-policy.js';
import { IdentityCache } from './identity-cache.js';
import { PolicyStore } from './policy-store.js';

const web = ['k8s:app=web', 'k8s:io.kubernetes.pod.namespace=default'];
const client = ['k8s:app=client', 'k8s:io.kubernetes.pod.namespace=default'];
const cnp = (name: string, port: string): string =>
  JSON.stringify({
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumNetworkPolicy',
    metadata: { name, namespace: 'default' },
    spec: { endpointSelector: { matchLabels: { app: 'web' } }, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'client' } }], toPorts: [{ ports: [{ port, protocol: 'TCP' }] }] }] },
  });

/** One agent's policy side: its kvstore connection, repository and cluster policy. */
interface Node {
  kv: KvStore;
  store: PolicyStore;
  cp: ClusterPolicy;
  file: string;
  regenerations: number;
}

describe('cluster-wide policy', () => {
  let etcd: TestEtcd;
  let dir: string;
  const nodes: Node[] = [];

  async function node(name: string): Promise<Node> {
    const kv = await KvStore.connect({ endpoints: [etcd.endpoint], prefix: 'cp', healthIntervalMs: 200 });
    const ids = new IdentityCache();
    ids.upsert(300, client);
    const store = new PolicyStore(ids);
    const n: Node = { kv, store, file: join(dir, name, 'policy.json'), regenerations: 0, cp: undefined as unknown as ClusterPolicy };
    n.cp = new ClusterPolicy({ policy: store, file: n.file, regenerate: async () => void n.regenerations++, log: () => undefined, importWaitMs: 20_000 });
    await n.cp.load();
    n.cp.follow(new ClusterPolicyStore(kv, 'c1'));
    nodes.push(n);
    return n;
  }
  const ports = (n: Node): number[] => n.store.compute(web).entries.map((e) => e.port).sort((a, b) => a - b);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cts-cluster-policy-'));
    etcd = await startTestEtcd('cluster-policy');
  });
  after(async () => {
    for (const n of nodes) {
      n.cp.close();
      await n.kv.close().catch(() => undefined);
    }
    await etcd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('one import reaches every node; bad input stores nothing; local rules stay local; wait times out naming the revision', async () => {
    const a = await node('a');
    const b = await node('b');
    const res = await a.cp.import(cnp('web80', '80'), 'web80.json', true, false);
    assert.equal(res.revision, 1);
    assert.equal(await b.cp.waitFor(1, 20_000), 1);
    assert.deepEqual(ports(b), [80], 'node b enforces the rule node a imported');
    assert.equal(a.store.get([]).json, b.store.get([]).json, 'policy get is the same on both nodes');
    assert.ok(b.regenerations > 0, "node b brought its endpoints up to date");

    // Invalid: INVALID_ARGUMENT material naming the rule path; nothing stored anywhere.
    await assert.rejects(a.cp.import(cnp('bad', '80x'), 'bad.json', true, false), (err: unknown) => err instanceof PolicyValidationError && /bad\.json.*ports\[0\]\.port/s.test(err.message));
    assert.equal((await new ClusterPolicyStore(a.kv, 'c1').get()).revision, 1, 'the kvstore still holds revision 1');

    // Replacing by labels: the same policy name with another port is one change cluster-wide.
    const r2 = await b.cp.import(cnp('web80', '8080'), 'web8080.json', true, false);
    assert.equal(r2.revision, 2);
    await a.cp.waitFor(2, 20_000);
    assert.deepEqual(ports(a), [8080]);
    assert.deepEqual(ports(b), [8080]);

    // A node-local rule: only node b, kept when the cluster-wide set changes.
    await b.cp.import(cnp('local443', '443'), 'local.json', true, true);
    assert.deepEqual(ports(b), [443, 8080]);
    assert.deepEqual(ports(a), [8080]);
    const r3 = await a.cp.import(cnp('web81', '81'), 'web81.json', true, false);
    await b.cp.waitFor(r3.revision, 20_000);
    assert.deepEqual(ports(b), [81, 443, 8080]);
    assert.equal((await b.cp.delete(['k8s:io.cilium.k8s.policy.name=local443'], false, true)).deleted, 1);
    assert.deepEqual(ports(b), [81, 8080]);
    assert.deepEqual(b.cp.status(true), { enforced: 3, latest: 3, lagging: false, clusterRules: 2, localRules: 0 });

    await assert.rejects(b.cp.waitFor(9, 300), (err: unknown) => err instanceof PolicyWaitTimeoutError && /revision 9 .*enforces revision 3/.test(err.message));
  });

  test('an etcd outage keeps the persisted set enforced (also across a restart); the node catches up when etcd returns', async () => {
    const [a, b] = nodes as [Node, Node];
    await etcd.server.stop();
    await assert.rejects(a.cp.import(cnp('web82', '82'), 'web82.json', true, false), ClusterPolicyUnavailableError);
    assert.deepEqual(ports(b), [81, 8080], 'node b keeps enforcing revision 3');
    // A restarted agent (a new repository from node b's file) enforces the same while etcd is away.
    const ids = new IdentityCache();
    ids.upsert(300, client);
    const copy = new PolicyStore(ids);
    const again = new ClusterPolicy({ policy: copy, file: b.file, regenerate: async () => undefined, log: () => undefined });
    await again.load();
    assert.equal(again.revision, 3);
    assert.deepEqual(copy.compute(web).entries.map((e) => e.port).sort((x, y) => x - y), [81, 8080]);

    // Node b stops following (as if stopped) while the cluster moves on.
    b.cp.close();
    await etcd.restart({ wipe: false });
    const r4 = await a.cp.import(cnp('web82', '82'), 'web82.json', true, false);
    assert.equal(r4.revision, 4);
    again.follow(new ClusterPolicyStore(b.kv, 'c1'));
    nodes.push({ ...b, cp: again, store: copy });
    await again.waitFor(4, 20_000);
    assert.deepEqual(copy.compute(web).entries.map((e) => e.port).sort((x, y) => x - y), [81, 82, 8080]);
  });
});
