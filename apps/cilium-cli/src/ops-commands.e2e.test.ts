// The troubleshooting commands against a real agent (tunnel mode, its own node namespace,
// a real etcd, one pod added through the CNI plugin, two remote nodes registered in the
// kvstore: one with an address, one without): cilium map list|get, bpf endpoint list,
// bpf tunnel list, endpoint labels|regenerate|log|health, kvstore get|set|delete, and the metrics they back (cilium_bpf_map_pressure,
// cilium_unreachable_nodes, cilium_kvstore_events_queue_seconds) scraped from /metrics.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { IPCacheSync, KvStore, NodeRegistry } from '@cilium-ts/kvstore';
import { waitFor } from '@cilium-ts/kvstore/testing';
import { cli } from './testing/capture.js';
import { AgentNode, sh } from './testing/agent-node.js';

const skip = process.getuid?.() !== 0 && process.env.CI !== 'true' ? 'needs root' : false;
const node = new AgentNode({ tag: 'ops', podCidr: '10.214.0.0/24', nodeIp: '192.168.214.1' });
const { base, pinDir, workDir, host } = node;

/** The value of the /metrics sample `name` carrying every label of `labels`; undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const line = text.split('\n').find((l) => {
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(l);
    return m?.[1] === name && Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`));
  });
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('troubleshooting commands against a real agent', { skip }, () => {
  let kv: KvStore | undefined;
  let kvMute: KvStore | undefined;
  const { prefix } = node;

  before(async () => {
    await node.start();
    // Two remote nodes: "far" is reachable through the tunnel, "mute" registered no address.
    kv = await KvStore.connect({ endpoints: [node.etcd!.endpoint], prefix });
    await new NodeRegistry(kv, 'default').register({ name: `${base}-far`, cluster: 'default', ipv4: '192.168.214.2', podCIDR: '10.214.1.0/24' });
    kvMute = await KvStore.connect({ endpoints: [node.etcd!.endpoint], prefix });
    await new NodeRegistry(kvMute, 'default').register({ name: `${base}-mute`, cluster: 'default', podCIDR: '10.214.2.0/24' });
    await new IPCacheSync(kv, 'default').upsert({ ip: '10.214.1.7', identity: 9999, hostIP: '192.168.214.2', node: `${base}-far` });
  });

  after(async () => {
    for (const k of [kv, kvMute]) await k?.close().catch(() => undefined);
    await node.stop();
  });

  test('cilium map list shows every pinned map with its entries and maximum; map get dumps one', async () => {
    const list = await cli(['map', 'list', '-H', host, '-o', 'json']);
    assert.equal(list.code, 0, list.stderr);
    const maps = JSON.parse(list.stdout) as Array<{ name: string; type: string; maxEntries: number; entries: number; hasEntries: boolean }>;
    const byName = new Map(maps.map((m) => [m.name, m]));
    assert.deepEqual(byName.get('endpoints'), { ...byName.get('endpoints')!, type: 'hash', maxEntries: 4096, entries: 1, hasEntries: true });
    assert.equal(byName.get('ipcache')?.type, 'lpm_trie');
    assert.equal(byName.get('metrics')?.hasEntries, false, 'arrays report no fill');
    assert.ok(maps.some((m) => /^ep\d+\/policy$/.test(m.name)), `the pod's policy map is listed: ${[...byName.keys()].join(' ')}`);
    const text = await cli(['map', 'list', '-H', host]);
    assert.match(text.stdout, /^Name\s+Type\s+Num entries\s+Max entries\s+Pressure$/m);
    assert.match(text.stdout, /^endpoints\s+hash\s+1\s+4096\s+0\.0%$/m);

    const get = await cli(['map', 'get', 'endpoints', '-H', host, '-o', 'json']);
    assert.equal(get.code, 0, get.stderr);
    const dump = JSON.parse(get.stdout) as { entries: Array<{ key: string }> };
    assert.equal(dump.entries.length, 1);
    const ipHex = Buffer.from(node.podIp.split('.').map(Number)).toString('hex');
    assert.ok(dump.entries[0]!.key.includes(ipHex), `the key holds the pod address ${node.podIp}: ${dump.entries[0]!.key}`);

    const missing = await cli(['map', 'get', 'nope', '-H', host]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no map "nope" is pinned/);
    const escape = await cli(['map', 'get', '../x', '-H', host]);
    assert.equal(escape.code, 1);
    assert.match(escape.stderr, /INVALID_ARGUMENT|not a map name below the pin directory/);
  });

  test('cilium bpf endpoint list and bpf tunnel list read the kernel maps', async () => {
    const eps = await cli(['bpf', 'endpoint', 'list', '-H', host]);
    assert.equal(eps.code, 0, eps.stderr);
    assert.match(eps.stdout, new RegExp(`^${node.podIp.replace(/\./g, '\\.')}\\s+id=\\d+ sec_id=\\d+ ifindex=\\d+$`, 'm'));
    await waitFor('the remote ipcache entry', async () => (await cli(['bpf', 'tunnel', 'list', '-H', host])).stdout.includes('10.214.1.7/32'), 20_000);
    const tunnels = await cli(['bpf', 'tunnel', 'list', '-H', host, '-o', 'json']);
    assert.deepEqual(JSON.parse(tunnels.stdout), [{ prefix: '10.214.1.7/32', tunnelEndpoint: '192.168.214.2' }]);
  });

  test('cilium kvstore get|set|delete: free keys change, the agents\' keys only with --force, bad input changes nothing', async () => {
    const k = (...argv: string[]) => cli(['kvstore', ...argv, '-H', host]);
    assert.equal((await k('set', 'ops-test/a', 'one')).code, 0);
    assert.equal((await k('set', 'ops-test/b=two')).code, 0);
    assert.equal((await k('get', 'ops-test/a')).stdout, 'ops-test/a => one\n');
    assert.deepEqual(JSON.parse((await k('get', 'ops-test/', '--recursive', '-o', 'json')).stdout), { 'ops-test/a': 'one', 'ops-test/b': 'two' });

    // The node registration is the agents' key: refused without --force, and unchanged.
    const nodeKey = `${prefix}/state/nodes/v1/default/${base}-far`;
    const before = (await k('get', nodeKey)).stdout;
    assert.match(before, /192\.168\.214\.2/);
    const refused = await k('set', nodeKey, 'garbage');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /the agents own the keys under .*--force/);
    const refusedDel = await k('delete', `${prefix}/state/`, '--recursive');
    assert.equal(refusedDel.code, 1);
    assert.match(refusedDel.stderr, /--force/);
    const parentDel = await k('delete', prefix.slice(0, 4), '--recursive');
    assert.equal(parentDel.code, 1, 'a recursive delete of a parent of the prefix is refused too');
    assert.equal((await k('get', nodeKey)).stdout, before);
    assert.equal((await k('get', '')).code, 1, 'an empty key is refused');

    const forced = await k('set', `${prefix}/ops-test-owned`, 'x', '--force');
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal((await k('delete', `${prefix}/ops-test-owned`, '--force')).stdout, 'Deleted 1 key\n');
    assert.equal((await k('delete', 'ops-test/', '--recursive')).stdout, 'Deleted 2 keys\n');
    const gone = await k('get', 'ops-test/a');
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /does not exist/);
  });

  test('cilium endpoint labels gives the endpoint the identity and policy of its new labels; health, regenerate and log', async () => {
    const epId = String(JSON.parse((await cli(['endpoint', 'list', '-H', host, '-o', 'json'])).stdout)[0].id);
    const labelsOf = async () => JSON.parse((await cli(['endpoint', 'labels', epId, '-H', host, '-o', 'json'])).stdout) as { identity: number; labels: string[] };
    const before = await labelsOf();
    assert.ok(before.labels.includes('k8s:app=ops'), before.labels.join(' '));
    writeFileSync(`${workDir}/web.yaml`, 'apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: web, namespace: default}\n' +
      'spec:\n  endpointSelector: {matchLabels: {app: web}}\n  ingress:\n    - toPorts: [{ports: [{port: "80", protocol: TCP}]}]\n');
    const imported = await cli(['policy', 'import', `${workDir}/web.yaml`, '-H', host]);
    assert.equal(imported.code, 0, imported.stderr);

    // Invalid labels and a label the endpoint does not have change nothing.
    const bad = await cli(['endpoint', 'labels', epId, '--add', 'k8s:app=web', '--add', 'k8s:bad label', '-H', host]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /add\[1\]: "k8s:bad label" is not a label/);
    const notThere = await cli(['endpoint', 'labels', epId, '--delete', 'k8s:app=nope', '-H', host]);
    assert.equal(notThere.code, 1);
    assert.match(notThere.stderr, /delete\[0\]: endpoint \d+ has no label "k8s:app=nope"/);
    assert.deepEqual(await labelsOf(), before);

    const changed = await cli(['endpoint', 'labels', epId, '--delete', 'k8s:app=ops', '--add', 'k8s:app=web', '-H', host]);
    assert.equal(changed.code, 0, changed.stderr);
    const after = await labelsOf();
    assert.ok(after.labels.includes('k8s:app=web') && !after.labels.includes('k8s:app=ops'), after.labels.join(' '));
    assert.notEqual(after.identity, before.identity);
    // The kernel has the new identity (endpoints map) and the policy of app=web (80/TCP, ingress enforced).
    assert.match((await cli(['bpf', 'endpoint', 'list', '-H', host])).stdout, new RegExp(`id=${epId} sec_id=${after.identity} `));
    const pol = await cli(['bpf', 'policy', 'get', epId, '-H', host]);
    assert.match(pol.stdout, /ingress enforced/);
    assert.match(pol.stdout, /Allow\s+Ingress\s+0\s+ANY\s+80\/TCP/);

    // Traced between running endpoints, with their labels (namespace label included).
    const trace = await cli(['policy', 'trace', '--src-endpoint', epId, '--dst-endpoint', epId, '--dport', '80/TCP', '-H', host, '-o', 'json']);
    assert.equal(trace.code, 0, trace.stderr);
    assert.equal(JSON.parse(trace.stdout).verdict, 'ALLOWED');
    const trace81 = await cli(['policy', 'trace', '--src-endpoint', epId, '--dst-endpoint', epId, '--dport', '81/TCP', '-H', host]);
    assert.match(trace81.stdout, /1\/1 rules selected[\s\S]*Final verdict: DENIED/);
    assert.equal((await cli(['policy', 'trace', '--src-endpoint', '4000', '-d', 'k8s:app=web', '-H', host])).code, 1, 'an unknown endpoint');

    const healthy = await cli(['endpoint', 'health', epId, '-H', host]);
    assert.equal(healthy.code, 0, healthy.stdout);
    assert.match(healthy.stdout, /^Overall Health:\s+OK$/m);
    // Take the policy map's entries away behind the agent's back: health sees it, regenerate repairs it.
    const dump = JSON.parse((await cli(['map', 'get', `ep${epId}/policy`, '-H', host, '-o', 'json'])).stdout) as { entries: Array<{ key: string }> };
    assert.ok(dump.entries.length > 0);
    for (const e of dump.entries) sh('bpftool', 'map', 'delete', 'pinned', `${pinDir}/ep${epId}/policy`, 'key', 'hex', ...e.key.match(/../g)!);
    const sick = await cli(['endpoint', 'health', epId, '-H', host]);
    assert.equal(sick.code, 1);
    assert.match(sick.stdout, /^Policy Health:\s+\d+ policy map entr(y|ies) missing/m);
    const regen = await cli(['endpoint', 'regenerate', epId, '-H', host]);
    assert.equal(regen.stdout, `Endpoint ${epId} successfully regenerated\n`, regen.stderr);
    assert.equal((await cli(['endpoint', 'health', epId, '-H', host])).code, 0);

    const log = JSON.parse((await cli(['endpoint', 'log', epId, '-H', host, '-o', 'json'])).stdout) as Array<{ code: string; message: string }>;
    const messages = log.map((e) => e.message).join('\n');
    assert.match(messages, /^Endpoint created with identity/m);
    assert.match(messages, new RegExp(`identity changed from ${before.identity} to ${after.identity}`));
    assert.match(messages, /Regenerated \(requested by the API\)/);
    assert.match((await cli(['endpoint', 'log', epId, '-H', host])).stdout, /^Timestamp\s+Status\s+State\s+Message$/m);
    assert.equal((await cli(['endpoint', 'log', '4000', '-H', host])).code, 1, 'an unknown endpoint');
  });

  test('/metrics has the map pressure of every sized map, the unreachable nodes and the kvstore events queue', async () => {
    const scrape = async (): Promise<string> => (await fetch(`http://127.0.0.1:${node.metricsPort}/metrics`)).text();
    // "mute" registered no address: no route leads to its pods; "far" is routed through the tunnel.
    await waitFor('both remote nodes seen', async () => sample(await scrape(), 'cilium_unreachable_nodes') === 1, 20_000);
    const text = await scrape();
    assert.equal(sample(text, 'cilium_bpf_map_pressure', { map_name: 'endpoints' }), 1 / 4096);
    assert.ok(sample(text, 'cilium_bpf_map_pressure', { map_name: 'ipcache' })! > 0, 'ipcache pressure');
    assert.equal(sample(text, 'cilium_bpf_map_pressure', { map_name: 'metrics' }), undefined, 'arrays have no pressure');
    assert.equal(sample(text, 'cilium_unreachable_nodes'), 1);
    assert.ok(sample(text, 'cilium_kvstore_events_queue_seconds_count', { action: 'create' })! >= 1, 'watch events counted');
  });
});
