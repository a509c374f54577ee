// End to end against the real binaries: a three-node dual-stack lab in native routing,
// flows of every node and across nodes through the relay with the hubble CLI (IPv4 and
// IPv6), policy by identity across nodes (a denied connection from each other node is
// dropped at the destination with the source's cluster identity), the connectivity check
// over every node pair and both families (the demo's L7 rule included: GET /public 200 and
// GET /private 403 through each node's cilium-proxy; SIGKILL of a proxy drops the covered
// traffic with reason 165, its restart enforces the rule again), our programs in the kernel, cilium status, the
// removal of a node (its agent killed: once its session lease expires the operator releases
// its pod CIDRs, its identity references go, and the other nodes drop its routes and
// ipcache entries while keeping their own traffic), and a clean "down".
// Skipped (with the reason) when not root or an app is not built, except under CI=true.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { KvStore, KvStoreConnectError, type KvStoreOptions } from '@cilium-ts/kvstore';
import { ciliumArgv } from './cilium-cli.js';
import type { LabStatus } from './cmd-status.js';
import { e2eSkip, killAgent, killService, labCommand, listRelayNodes, observeFlows, restartProxy, type JsonFlow } from './e2e-support.js';
import { run, runChecked } from './exec.js';
import { isLoopback, listenersOf } from './exposure.js';
import { hubbleServerTlsName, labCerts, labEtcdClientTls } from './lab-certs.js';
import { appMain, bpfRoot, cluster, demoProgram, LabLayout, runRoot } from './layout.js';
import { labTcpPorts } from './cmd-up.js';
import { labCgroupDir, nodeCgroupDir } from './pod-cgroup.js';
import { findLabProcesses } from './process.js';
import { inNetns, listNetns } from './netns.js';

const name = `e2e${process.pid}`;
const layout = new LabLayout(name);
const skip = e2eSkip();
const lab = labCommand;
const observe = (): Promise<JsonFlow[]> => observeFlows(layout);

const matches = (f: JsonFlow, src: string, dst: string, port: number): boolean =>
  f.IP?.source === src && f.IP?.destination === dst && f.l4?.TCP?.destination_port === port;

const NODES = [1, 2, 3] as const;

/** The nodes the agent of node i knows (`cilium node list -o json`). */
async function ciliumNodes(i: number): Promise<Array<{ name: string; local?: boolean; ipv4?: string; ipv6?: string; podCidr?: string; podCidrV6?: string }>> {
  return JSON.parse(await runChecked(ciliumArgv(layout.agentSocket(i), 'node', 'list', '-o', 'json'), { timeoutMs: 15_000 })) as Array<{ name: string }>;
}

/** The identity of the endpoint with IPv4 address `ip` on node i, as its agent reports it. */
async function endpointIdentity(node: number, ip: string): Promise<number> {
  const out = await runChecked(ciliumArgv(layout.agentSocket(node), 'endpoint', 'list', '-o', 'json'), { timeoutMs: 15_000 });
  const ep = (JSON.parse(out) as Array<{ identity: number; ipv4: string }>).find((e) => e.ipv4 === ip);
  assert.ok(ep, `n${node}: no endpoint with address ${ip}: ${out}`);
  return ep.identity;
}

describe('lab e2e (three nodes, native routing)', { skip }, () => {
  let status: LabStatus;
  const ipOf = (pod: string, node: number): string => status.pods.find((p) => p.name === pod && p.node === node)!.ip!;
  const ip6Of = (pod: string, node: number): string => status.pods.find((p) => p.name === pod && p.node === node)!.ipv6!;

  before(async () => {
    const up = await lab('up', '--nodes', '3', '--name', name);
    assert.equal(up.code, 0, `tools/lab up failed:\n${up.stderr}\n${up.stdout}`);
    const st = await lab('status', '--name', name, '--json');
    assert.equal(st.code, 0, st.stderr);
    status = JSON.parse(st.stdout) as LabStatus;
  });
  after(async () => {
    await lab('down', '--name', name);
  });

  test('every service is alive and reachable; pods have addresses in their node\'s pod CIDR', () => {
    for (const s of status.services) assert.ok(s.alive && s.reachable, `${s.name} alive=${s.alive} reachable=${s.reachable}`);
    assert.deepEqual(
      status.pods.map((p) => `n${p.node}/${p.name}`).sort(),
      NODES.flatMap((i) => [`n${i}/client`, `n${i}/other`, `n${i}/web`]),
    );
    for (const p of status.pods) assert.match(p.ip ?? '', /^10\.200\.\d+\.\d+$/);
    assert.equal(new Set(NODES.map((i) => ipOf('web', i).split('.')[2])).size, 3, 'nodes have distinct pod CIDRs');
    // Dual-stack: IPv6 from the operator's pool, one /120 per node.
    for (const p of status.pods) assert.match(p.ipv6 ?? '', /^fd00:10:200::[0-9a-f]{1,4}$/);
    const block = (ip: string): string => ip.split(':').at(-1)!.padStart(4, '0').slice(0, 2);
    assert.equal(new Set(NODES.map((i) => block(ip6Of('web', i)))).size, 3, 'nodes have distinct IPv6 pod CIDRs');
  });

  test('exposure: every lab process listens on loopback (or unix sockets) only, every port of the lab included', async () => {
    const listeners = await listenersOf(findLabProcesses(name));
    const beyond = listeners.filter((l) => !isLoopback(l.address)).map((l) => `${l.proto} ${l.address}:${l.port} (pids ${l.pids.join(',')})`);
    assert.deepEqual(beyond, [], 'listeners reachable beyond this machine');
    // Not vacuous: etcd, relay, hubble-servers and every metrics endpoint are among them.
    const ports = new Set(listeners.filter((l) => l.proto === 'tcp').map((l) => l.port));
    assert.deepEqual(labTcpPorts(3).filter((p) => !ports.has(p)), [], `lab ports not found among the lab's listeners: ${[...ports].join(',')}`);
  });

  test('exposure: etcd refuses clients without the lab\'s client certificate and plaintext clients', async () => {
    const http = layout.etcdEndpoint.replace('https://', 'http://');
    const { ca } = labEtcdClientTls(layout);
    const attempts: Array<[string, KvStoreOptions]> = [['no client certificate', { endpoints: [layout.etcdEndpoint], tls: { ca } }], ['plaintext', { endpoints: [http] }]];
    for (const [what, opts] of attempts) {
      await assert.rejects(KvStore.connect({ ...opts, dialTimeoutMs: 2000 }), (e: unknown) => e instanceof KvStoreConnectError, what);
    }
    const kv = await KvStore.connect({ endpoints: [layout.etcdEndpoint], tls: labEtcdClientTls(layout), dialTimeoutMs: 5000 });
    await kv.close();
  });

  test('exposure: hubble-servers serve mTLS only (the relay\'s certificate reads flows, plaintext and certificate-less clients do not); state and logs are private', async () => {
    const hubble = (...args: string[]) => run([process.execPath, appMain('hubble-cli'), 'observe', '--server', layout.hubbleAddress(1), '--last', '5', '-o', 'json', ...args], { timeoutMs: 20_000 });
    const tlsArgs = ['--tls', '--tls-ca-cert-files', layout.cert(labCerts.hubbleCa).certFile, '--tls-server-name', hubbleServerTlsName('n1')];
    const client = layout.cert(labCerts.relayClient);
    const plain = await hubble();
    assert.notEqual(plain.code, 0, `a plaintext client read n1's hubble-server: ${plain.stdout.slice(0, 300)}`);
    const noCert = await hubble(...tlsArgs);
    assert.notEqual(noCert.code, 0, `a TLS client without a certificate read n1's hubble-server: ${noCert.stdout.slice(0, 300)}`);
    const withCert = await hubble(...tlsArgs, '--tls-client-cert-file', client.certFile, '--tls-client-key-file', client.keyFile);
    assert.equal(withCert.code, 0, withCert.stderr);
    assert.match(withCert.stdout, /"node_name":"n1"/);
    const mode = (p: string): string => (statSync(p).mode & 0o777).toString(8);
    assert.deepEqual(
      { state: mode(layout.stateFile), logs: mode(layout.logDir), log: mode(layout.logFile('hubble-relay')), key: mode(client.keyFile), runRoot: existsSync(runRoot) },
      { state: '600', logs: '700', log: '600', key: '600', runRoot: true },
    );
  });

  test('the relay shows same-node and cross-node flows, allowed and denied, from every node', async () => {
    // [what, source pod, destination pod, port, verdict, node that reports it]
    const want: Array<[string, string, string, number, 'FORWARDED' | 'DROPPED', string]> = [
      ['n1 client -> n1 web:80', ipOf('client', 1), ipOf('web', 1), 80, 'FORWARDED', 'n1'],
      ['n1 client -> n1 web:8080', ipOf('client', 1), ipOf('web', 1), 8080, 'DROPPED', 'n1'],
      // Across nodes: the source node forwards, the destination node enforces by identity.
      ['n1 client -> n2 web:80 at n1', ipOf('client', 1), ipOf('web', 2), 80, 'FORWARDED', 'n1'],
      ['n1 client -> n2 web:80 at n2', ipOf('client', 1), ipOf('web', 2), 80, 'FORWARDED', 'n2'],
      ['n1 client -> n2 web:8080 at n2', ipOf('client', 1), ipOf('web', 2), 8080, 'DROPPED', 'n2'],
      ['n1 other -> n2 web:80 at n2', ipOf('other', 1), ipOf('web', 2), 80, 'DROPPED', 'n2'],
      ['n2 client -> n1 web:80 at n1', ipOf('client', 2), ipOf('web', 1), 80, 'FORWARDED', 'n1'],
      ['n2 other -> n1 web:80 at n1', ipOf('other', 2), ipOf('web', 1), 80, 'DROPPED', 'n1'],
      ['n3 client -> n3 web:80', ipOf('client', 3), ipOf('web', 3), 80, 'FORWARDED', 'n3'],
      ['n3 client -> n1 web:80 at n1', ipOf('client', 3), ipOf('web', 1), 80, 'FORWARDED', 'n1'],
      ['n2 client -> n3 web:80 at n3', ipOf('client', 2), ipOf('web', 3), 80, 'FORWARDED', 'n3'],
    ];
    let flows: JsonFlow[] = [];
    const missingNow = (): string[] =>
      want
        .filter(([, src, dst, port, verdict, node]) =>
          !flows.some((f) => matches(f, src, dst, port) && f.verdict === verdict && f.node_name === node && (verdict === 'FORWARDED' || f.drop_reason === 133)),
        )
        .map(([what, , , , verdict]) => `${what} ${verdict}`);
    for (let k = 0; k < 30; k++) {
      flows = await observe();
      if (missingNow().length === 0) break;
      await new Promise((r) => setTimeout(r, 2000));
    }
    assert.deepEqual(missingNow(), [], `nodes seen: ${[...new Set(flows.map((f) => f.node_name))].join(',')}`);
    assert.deepEqual([...new Set(flows.map((f) => f.node_name))].sort(), ['n1', 'n2', 'n3'], 'flows of all three nodes through the relay');
    // The destination node knows the remote client by its cluster identity (through the ipcache), not as world.
    const atN2 = flows.find((f) => matches(f, ipOf('client', 1), ipOf('web', 2), 80) && f.node_name === 'n2' && f.verdict === 'FORWARDED');
    const atN1 = flows.find((f) => matches(f, ipOf('client', 1), ipOf('web', 2), 80) && f.node_name === 'n1');
    assert.ok((atN2?.source?.identity ?? 0) >= 256, `remote source identity at n2: ${JSON.stringify(atN2?.source)}`);
    assert.equal(atN2?.source?.identity, atN1?.source?.identity, 'both nodes see the same identity');
    assert.ok(atN2?.source?.labels?.includes('k8s:app=client'), `labels at n2: ${JSON.stringify(atN2?.source?.labels)}`);
  });

  test('policy by identity across nodes: at each node, other pods of both other nodes are dropped with their cluster identity', async () => {
    // The identity of app=other, as the agent of each node allocated it (the same everywhere).
    const otherId = await endpointIdentity(1, ipOf('other', 1));
    for (const i of NODES) assert.equal(await endpointIdentity(i, ipOf('other', i)), otherId, `n${i} allocated the same identity for app=other`);
    assert.ok(otherId >= 256, `a cluster identity: ${otherId}`);
    const pairs = NODES.flatMap((dst) => NODES.filter((src) => src !== dst).map((src) => [src, dst] as const));
    let flows: JsonFlow[] = [];
    const dropAt = (src: number, dst: number): JsonFlow | undefined =>
      flows.find((f) => matches(f, ipOf('other', src), ipOf('web', dst), 80) && f.node_name === `n${dst}` && f.verdict === 'DROPPED' && f.drop_reason === 133);
    const missing = (): string[] => pairs.filter(([src, dst]) => !dropAt(src, dst)).map(([src, dst]) => `n${src} other -> n${dst} web:80`);
    for (let k = 0; k < 15; k++) {
      flows = await observe();
      if (missing().length === 0) break;
      await new Promise((r) => setTimeout(r, 2000));
    }
    assert.deepEqual(missing(), [], 'a policy drop at the destination for every ordered pair of nodes');
    for (const [src, dst] of pairs) {
      const f = dropAt(src, dst)!;
      assert.equal(f.source?.identity, otherId, `n${src} other -> n${dst} web dropped with the source's cluster identity: ${JSON.stringify(f.source)}`);
      assert.ok(f.source?.labels?.includes('k8s:app=other'), `labels at n${dst}: ${JSON.stringify(f)}`);
    }
  });

  test('cilium node list on each node shows the three nodes, itself as local', async () => {
    for (const i of NODES) {
      const nodes = await ciliumNodes(i);
      assert.deepEqual(
        nodes.map((n) => [n.name, n.local ?? false, n.ipv4, n.ipv6]),
        NODES.map((j) => [`n${j}`, j === i, layout.nodeIp(j), layout.nodeIpv6(j)]),
        `n${i}: ${JSON.stringify(nodes)}`,
      );
      // Each node's pod CIDRs hold its pods' addresses.
      for (const j of NODES) {
        const n = nodes.find((x) => x.name === `n${j}`)!;
        assert.equal(n.podCidr?.split('.').slice(0, 3).join('.'), ipOf('web', j).split('.').slice(0, 3).join('.'), `n${j} pod CIDR ${n.podCidr}`);
        assert.match(n.podCidrV6 ?? '', /^fd00:10:200::[0-9a-f]*\/120$/);
      }
    }
  });

  test('hubble list nodes through the relay shows three connected nodes', async () => {
    let nodes: Array<{ name: string; state: string }> = [];
    for (let k = 0; k < 10; k++) {
      nodes = await listRelayNodes(layout);
      if (nodes.length === 3 && nodes.every((n) => n.state === 'NODE_CONNECTED')) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    assert.deepEqual(nodes.map((n) => `${n.name} ${n.state}`), ['n1 NODE_CONNECTED', 'n2 NODE_CONNECTED', 'n3 NODE_CONNECTED']);
  });

  test('lab check agrees with the policy on every node pair, over IPv4 and IPv6', async () => {
    const r = await lab('check', '--name', name);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    // Three nodes: 3 same-node pairs, 6 ordered cross-node pairs, per family.
    for (const fam of ['', ' \\(IPv6\\)']) {
      assert.match(r.stdout, new RegExp(`^same-node allowed${fam}\\s+3\\s+3\\s+ok$`, 'm'));
      assert.match(r.stdout, new RegExp(`^same-node denied by policy${fam}\\s+6\\s+6\\s+ok$`, 'm'));
      assert.match(r.stdout, new RegExp(`^cross-node allowed${fam}\\s+6\\s+6\\s+ok$`, 'm'));
      assert.match(r.stdout, new RegExp(`^cross-node denied by policy${fam}\\s+12\\s+12\\s+ok$`, 'm'));
      // The L7 rule on web:80 (GET / and /public only), enforced by each node's cilium-proxy.
      assert.match(r.stdout, new RegExp(`^same-node L7 allowed \\(HTTP 2xx\\)${fam}\\s+3\\s+3\\s+ok$`, 'm'));
      assert.match(r.stdout, new RegExp(`^same-node L7 denied \\(HTTP 403 Access denied\\)${fam}\\s+3\\s+3\\s+ok$`, 'm'));
      assert.match(r.stdout, new RegExp(`^cross-node L7 allowed \\(HTTP 2xx\\)${fam}\\s+6\\s+6\\s+ok$`, 'm'));
      assert.match(r.stdout, new RegExp(`^cross-node L7 denied \\(HTTP 403 Access denied\\)${fam}\\s+6\\s+6\\s+ok$`, 'm'));
      // Each node namespace reaches the other nodes' pods over the native routes (web:80 denied: not app=client).
      assert.match(r.stdout, new RegExp(`^node-to-remote-pod allowed${fam}\\s+6\\s+6\\s+ok$`, 'm'));
      assert.match(r.stdout, new RegExp(`^node-to-remote-pod denied by policy${fam}\\s+6\\s+6\\s+ok$`, 'm'));
      // The ClusterIP in front of the three web pods: from each node's client every backend answers; other is denied.
      assert.match(r.stdout, new RegExp(`^service allowed${fam}\\s+3\\s+3\\s+ok$`, 'm'));
      assert.match(r.stdout, new RegExp(`^service denied by policy${fam}\\s+3\\s+3\\s+ok$`, 'm'));
    }
    // The demo policy was imported once (stored in etcd); cilium policy wait proves every node enforces it.
    assert.match(r.stdout, /^policy revision \d+ enforced \(cilium policy wait\)\s+3\s+3\s+ok$/m);
  });

  test('one cluster-wide import: every node shows the same rules and revision and is in sync', async () => {
    const gets = await Promise.all(NODES.map(async (i) => JSON.parse(await runChecked(ciliumArgv(layout.agentSocket(i), 'policy', 'get', '-o', 'json'), { timeoutMs: 15_000 })) as { revision: string; rules: unknown[] }));
    assert.ok(gets[0]!.rules.length > 0, 'the demo policy has rules');
    for (const g of gets.slice(1)) assert.deepEqual(g, gets[0], 'policy get is the same on every node');
    for (const i of NODES) {
      const st = JSON.parse(await runChecked(ciliumArgv(layout.agentSocket(i), 'status', '-o', 'json'), { timeoutMs: 15_000 })) as { policyRevision: string; policyClusterRevision: string; policyLagging?: boolean };
      assert.equal(st.policyRevision, gets[0]!.revision, `n${i} enforces the cluster revision`);
      assert.equal(st.policyClusterRevision, st.policyRevision);
      assert.ok(!st.policyLagging, `n${i} does not lag`);
    }
  });

  test('the demo ClusterIP is served on every node to the pods\' cgroup only: the node\'s own namespace is not translated', async () => {
    assert.deepEqual(status.loadBalancing?.map((s) => `${s.id} ${s.frontend} ${s.backends.length} ${s.servedOn.join(',')}`), [
      '1 10.96.0.10:80 3 n1,n2,n3',
      '2 [fd00:10:96::10]:80 3 n1,n2,n3',
    ]);
    const agent = readFileSync(`/proc/${status.services.find((s) => s.name === 'agent-n1')!.pid}/cmdline`, 'utf8').split('\0');
    assert.equal(agent[agent.indexOf('--cgroup-root') + 1], nodeCgroupDir(layout, 1));
    assert.equal(agent[agent.indexOf('--bpf-lb-algorithm') + 1], 'maglev');
    // Outside the pod cgroup (the node namespace, the probe run without a cgroup) the VIP is just an address nobody has.
    const node = await run(inNetns(layout.nodeNetns(1), [process.execPath, demoProgram('probe'), '10.96.0.10', '80', '--timeout', '1000']), { timeoutMs: 10_000 });
    assert.notEqual(node.code, 0, `the node namespace reached the VIP: ${node.stdout}`);
    const pod = await run(inNetns(layout.podNetns(1, 'client'), [process.execPath, demoProgram('probe'), '10.96.0.10', '80', '--timeout', '1000']), { timeoutMs: 10_000 });
    assert.notEqual(pod.code, 0, `a process outside the pod cgroup was translated: ${pod.stdout}`);
  });

  test('Hubble names the demo ClusterIP in socket-LB flows: hubble observe --to-service default/web through the relay shows TRANSLATED flows of every node, from the client pods', async () => {
    type SockFlow = { verdict?: string; Type?: string; node_name?: string; sock_xlate_point?: string; destination_service?: { name?: string; namespace?: string }; source?: { pod_name?: string }; IP?: { destination?: string } };
    let flows: SockFlow[] = [];
    const nodesTranslated = (): string[] => [...new Set(flows.filter((f) => f.verdict === 'TRANSLATED' && f.sock_xlate_point === 'SOCK_XLATE_POINT_POST_DIRECTION_FWD').map((f) => f.node_name ?? ''))].sort();
    // lab check (an earlier case) connected to the VIP from the pods of every node.
    for (let k = 0; k < 15; k++) {
      const out = await runChecked([process.execPath, appMain('hubble-cli'), 'observe', '--server', layout.relayAddress, '--last', '5000', '--to-service', 'default/web', '-o', 'json'], { timeoutMs: 90_000 });
      flows = out.split('\n').filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { flow: SockFlow }).flow);
      if (nodesTranslated().length === 3) break;
      await new Promise((r) => setTimeout(r, 2000));
    }
    assert.deepEqual(nodesTranslated(), ['n1', 'n2', 'n3'], `TRANSLATED flows from every node (${flows.length} flows)`);
    assert.ok(flows.every((f) => f.Type === 'SOCK' && f.destination_service?.name === 'web' && f.destination_service.namespace === 'default'), `a flow without the service: ${JSON.stringify(flows.find((f) => f.destination_service?.name !== 'web'))}`);
    assert.ok(flows.some((f) => f.verdict === 'TRACED' && f.IP?.destination === '10.96.0.10'), 'the pre-translation point shows the VIP');
    const sources = new Set(flows.map((f) => f.source?.pod_name ?? ''));
    assert.ok(!sources.has('') && sources.size > 0, `every flow names its pod (the netns cookie -> endpoint map): ${[...sources].join(',')}`);
  });

  test('the relay shows IPv6 flows (after the check probed them), allowed and denied, same-node and cross-node', async () => {
    const want: Array<[string, string, string, number, 'FORWARDED' | 'DROPPED', string]> = [
      ['n1 client -> n1 web:80', ip6Of('client', 1), ip6Of('web', 1), 80, 'FORWARDED', 'n1'],
      ['n1 other -> n1 web:80', ip6Of('other', 1), ip6Of('web', 1), 80, 'DROPPED', 'n1'],
      ['n1 client -> n2 web:80 at n2', ip6Of('client', 1), ip6Of('web', 2), 80, 'FORWARDED', 'n2'],
      ['n1 client -> n2 web:8080 at n2', ip6Of('client', 1), ip6Of('web', 2), 8080, 'DROPPED', 'n2'],
      ['n2 other -> n1 web:80 at n1', ip6Of('other', 2), ip6Of('web', 1), 80, 'DROPPED', 'n1'],
    ];
    // Probe each path once more now, so its flows are among the latest the relay returns.
    const podOf = (ip: string): { pod: string; node: number } => {
      const p = status.pods.find((x) => x.ipv6 === ip)!;
      return { pod: p.name, node: p.node };
    };
    for (const [, src, dst, port] of want) {
      const { pod, node } = podOf(src);
      await run(inNetns(layout.podNetns(node, pod), [process.execPath, demoProgram('probe'), dst, String(port), '--timeout', '1000']), { timeoutMs: 10_000 });
    }
    let flows: JsonFlow[] = [];
    const missingNow = (): string[] =>
      want
        .filter(([, src, dst, port, verdict, node]) =>
          !flows.some(
            (f) =>
              matches(f, src, dst, port) && f.IP?.ipVersion === 'IPv6' && f.verdict === verdict && f.node_name === node && (verdict === 'FORWARDED' || f.drop_reason === 133),
          ),
        )
        .map(([what, , , , verdict]) => `${what} ${verdict}`);
    for (let k = 0; k < 15; k++) {
      flows = await observe();
      if (missingNow().length === 0) break;
      await new Promise((r) => setTimeout(r, 2000));
    }
    assert.deepEqual(missingNow(), [], `IPv6 flows seen: ${flows.filter((f) => f.IP?.ipVersion === 'IPv6').length}`);
    // Across nodes the destination resolves the IPv6 source to its cluster identity through the ipcache.
    const atN2 = flows.find((f) => matches(f, ip6Of('client', 1), ip6Of('web', 2), 80) && f.node_name === 'n2' && f.verdict === 'FORWARDED');
    assert.ok(atN2?.source?.labels?.includes('k8s:app=client'), `labels at n2: ${JSON.stringify(atN2?.source)}`);
  });

  test('bpftool lists the endpoint programs', async () => {
    const r = await run(['bpftool', 'prog', 'show', '-j']);
    assert.equal(r.code, 0, r.stderr);
    const names = new Set((JSON.parse(r.stdout) as { name?: string }[]).map((p) => p.name));
    assert.ok(names.has('from_container') && names.has('to_container'), 'from_container and to_container are loaded');
  });

  test('the kernel counts the policy drops (cilium bpf metrics list)', async () => {
    for (const i of NODES) {
      const r = await run(ciliumArgv(layout.agentSocket(i), 'bpf', 'metrics', 'list', '-o', 'json'));
      assert.equal(r.code, 0, r.stderr);
      const entries = JSON.parse(r.stdout) as Array<{ reason?: number; direction?: string; packets?: string | number }>;
      const denied = entries.filter((e) => e.reason === 133 && Number(e.packets) > 0);
      const forwarded = entries.filter((e) => !e.reason && Number(e.packets) > 0);
      assert.ok(denied.length > 0, `n${i}: no policy-denied packets counted: ${r.stdout}`);
      assert.ok(forwarded.length > 0, `n${i}: no forwarded packets counted: ${r.stdout}`);
    }
  });

  test('the L7 rule is the proxy\'s: with n1\'s proxy SIGKILLed the covered traffic drops (reason 165, never a 200); restarted, GET /public 200 and /private 403 again', async () => {
    const get = async (from: number, path: string): Promise<string> => {
      const r = await run(inNetns(layout.podNetns(from, 'client'), [process.execPath, demoProgram('probe'), ipOf('web', 1), '80', '--path', path, '--timeout', '1000']), { timeoutMs: 10_000 });
      return (r.stdout.trim() || r.stderr.trim()).split('\n').at(-1) ?? '';
    };
    const noConfigDrops = async (): Promise<number> => {
      const out = await runChecked(ciliumArgv(layout.agentSocket(1), 'bpf', 'metrics', 'list', '-o', 'json'), { timeoutMs: 15_000 });
      return (JSON.parse(out) as Array<{ reason?: number; packets?: string | number }>).filter((e) => e.reason === 165).reduce((n, e) => n + Number(e.packets), 0);
    };
    assert.equal(await get(2, '/public'), 'ok 200 n1-web port 80');
    const before = await noConfigDrops();
    await killService(layout, 'proxy', 1, 'SIGKILL');
    try {
      // Fail closed from the kill on: TPROXY finds no listener, then the agent withdraws proxy_ready (drop reason 165).
      let dropsNow = before;
      for (let k = 0; k < 20 && dropsNow === before; k++) {
        for (const from of [1, 2]) assert.match(await get(from, '/public'), /^fail /, `n${from} client -> n1 web GET /public with n1's proxy dead`);
        dropsNow = await noConfigDrops();
      }
      assert.ok(dropsNow > before, `n1 counted no drop with reason 165 (${before} -> ${dropsNow})`);
    } finally {
      await restartProxy(layout, 1, { ipv6: true });
    }
    let got = '';
    for (let k = 0; k < 40 && got !== 'ok 200 n1-web port 80'; k++) {
      got = await get(2, '/public');
      if (got !== 'ok 200 n1-web port 80') await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(got, 'ok 200 n1-web port 80', 'the restarted proxy got the policy again');
    for (const from of [1, 2]) {
      assert.equal(await get(from, '/public/x'), 'ok 200 n1-web port 80');
      assert.equal(await get(from, '/private'), 'ok 403 Access denied');
    }
    // Hubble's L7 flows (the proxy's access records, through n1's hubble-server and the relay).
    const hubble = (...args: string[]): Promise<string> =>
      runChecked([process.execPath, appMain('hubble-cli'), 'observe', '--server', layout.relayAddress, '--last', '200', '--type', 'l7', ...args], { timeoutMs: 90_000 });
    type L7Flow = JsonFlow & { Type?: string; is_reply?: boolean; l7?: { type?: string; latency_ns?: string; http?: { code?: number; method?: string; url?: string; protocol?: string } } };
    const jsonFlows = (out: string): L7Flow[] => out.split('\n').filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { flow: L7Flow }).flow);
    let denied: L7Flow[] = [];
    for (let k = 0; k < 20 && denied.length === 0; k++) {
      denied = jsonFlows(await hubble('--to-ip', ipOf('web', 1), '--http-method', 'GET', '--http-path', '^/private$', '-o', 'json')).filter((f) => f.source?.labels?.includes('k8s:app=client') && f.node_name === 'n1');
      if (denied.length === 0) await new Promise((r) => setTimeout(r, 500));
    }
    const req = denied.find((f) => f.l7?.type === 'REQUEST');
    assert.ok(req, `no L7 request flow GET /private to n1 web: ${JSON.stringify(denied)}`);
    assert.equal(req.verdict, 'DROPPED');
    assert.equal(req.Type, 'L7');
    assert.equal(req.l7?.http?.url, `http://${ipOf('web', 1)}/private`);
    assert.equal(req.l7?.http?.protocol, 'HTTP/1.1');
    const text = await hubble('--to-ip', ipOf('web', 1), '--http-path', '^/public/x$', '--http-method', 'GET');
    assert.match(text, new RegExp(`http-request FORWARDED \\(HTTP/1\\.1 GET http://${ipOf('web', 1).replace(/\./g, '\\.')}/public/x\\)`), text);
    // Responses: from web back to the client, with the status and a latency; --http-status filters them.
    const ok = jsonFlows(await hubble('--from-ip', ipOf('web', 1), '--http-status', '200', '-o', 'json'));
    assert.ok(ok.some((f) => f.l7?.type === 'RESPONSE' && f.l7.http?.code === 200 && f.verdict === 'FORWARDED' && f.is_reply === true), JSON.stringify(ok.slice(-3)));
  });

  test('cilium status answers with state ok on every node', async () => {
    for (const i of NODES) {
      const r = await run(ciliumArgv(layout.agentSocket(i), 'status', '-o', 'json'));
      assert.equal(r.code, 0, r.stderr);
      assert.equal((JSON.parse(r.stdout) as { state?: string }).state?.toLowerCase(), 'ok', `n${i}: ${r.stdout}`);
    }
  });

  test('removing n3 (agent killed): after its lease TTL its CIDRs are released, its references and ipcache entries go, the others drop its routes and keep working', async () => {
    const kv = await KvStore.connect({ endpoints: [layout.etcdEndpoint], prefix: cluster.kvstorePrefix, tls: labEtcdClientTls(layout) });
    try {
      const k = kv.keys;
      const n3Ips = status.pods.filter((p) => p.node === 3).flatMap((p) => [p.ip!, p.ipv6!]);
      const cidr4 = await kv.get(k.ipamNode('n3'));
      const cidr6 = await kv.get(k.ipamNodeV6('n3'));
      assert.ok(cidr4 && cidr6, `n3 has pod CIDRs before: ${cidr4} ${cidr6}`);
      const refsOfN3 = async (): Promise<number> => [...(await kv.getPrefix(k.identityValuePrefix())).keys()].filter((key) => k.parseIdentityValue(key)?.node === 'n3').length;
      assert.equal(await refsOfN3(), 3, 'n3 references the identities of its three pods');
      const routes = async (i: number): Promise<string> =>
        (await runChecked(inNetns(layout.nodeNetns(i), ['ip', '-4', 'route', 'show', 'proto', '193']))) + (await runChecked(inNetns(layout.nodeNetns(i), ['ip', '-6', 'route', 'show', 'proto', '193'])));
      for (const i of [1, 2]) {
        const r = await routes(i);
        assert.ok(r.includes(`${cidr4} via`) && r.includes(`${cidr6} via`), `n${i} routes to n3's pod CIDRs before: ${r}`);
      }

      await killAgent(layout, 3);
      const gone = async (): Promise<string[]> => {
        const left: string[] = [];
        if ((await kv.get(k.node(cluster.name, 'n3'))) !== undefined) left.push('n3 registration');
        if ((await kv.get(k.ipamNode('n3'))) !== undefined) left.push('IPv4 pod CIDR assignment');
        if ((await kv.get(k.ipamNodeV6('n3'))) !== undefined) left.push('IPv6 pod CIDR assignment');
        if ((await refsOfN3()) > 0) left.push('identity references');
        for (const ip of n3Ips) if ((await kv.get(k.ip(cluster.name, ip))) !== undefined) left.push(`ipcache ${ip}`);
        for (const i of [1, 2]) {
          const r = await routes(i);
          for (const c of [cidr4, cidr6]) if (r.includes(`${c} via`)) left.push(`n${i} route to ${c}`);
          const ipcache = await runChecked(ciliumArgv(layout.agentSocket(i), 'bpf', 'ipcache', 'list', '-o', 'json'), { timeoutMs: 15_000 });
          for (const ip of n3Ips) if (ipcache.includes(`"${ip}/`)) left.push(`n${i} datapath ipcache ${ip}`);
          if ((await ciliumNodes(i)).some((n) => n.name === 'n3')) left.push(`n${i} cilium node list`);
        }
        return left;
      };
      // The lab's lease TTL is 15 s; the last keepalive was up to 5 s before the kill.
      let left = await gone();
      for (let t = 0; t < 40 && left.length > 0; t++) {
        await new Promise((r) => setTimeout(r, 1000));
        left = await gone();
      }
      assert.deepEqual(left, [], 'everything n3 held is gone once its lease expired');
      // The identities stay: n1 and n2 still reference every label set (the operator test
      // "a removed node loses its CIDR, references and identities" covers the identity GC).
      for (const pod of ['web', 'client', 'other']) {
        const id = await endpointIdentity(1, ipOf(pod, 1));
        assert.ok((await kv.get(k.identityId(id))) !== undefined, `identity ${id} stays`);
      }
    } finally {
      await kv.close();
    }
    // The relay forgets n3; the remaining nodes keep their traffic and policy.
    let nodes: Array<{ name: string; state: string }> = [];
    for (let t = 0; t < 15; t++) {
      nodes = await listRelayNodes(layout);
      if (!nodes.some((n) => n.name === 'n3')) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    assert.deepEqual(nodes.map((n) => `${n.name} ${n.state}`), ['n1 NODE_CONNECTED', 'n2 NODE_CONNECTED']);
    const probe = async (pod: string, node: number, ip: string, port: number): Promise<boolean> =>
      (await run(inNetns(layout.podNetns(node, pod), [process.execPath, demoProgram('probe'), ip, String(port), '--timeout', '1500']), { timeoutMs: 10_000 })).code === 0;
    assert.deepEqual(
      {
        n1ToN2: await probe('client', 1, ipOf('web', 2), 80),
        n2ToN1v6: await probe('client', 2, ip6Of('web', 1), 80),
        n2OtherToN1: await probe('other', 2, ipOf('web', 1), 80),
      },
      { n1ToN2: true, n2ToN1v6: true, n2OtherToN1: false },
    );
  });

  test('down leaves no namespace, pin or run dir behind', async () => {
    const r = await lab('down', '--name', name);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(listNetns(`cts-${name}`), []);
    const pins = existsSync(bpfRoot) ? readdirSync(bpfRoot).filter((d) => d.startsWith(`${name}-`)) : [];
    assert.deepEqual(pins, []);
    assert.equal(existsSync(layout.runDir), false);
    assert.equal(existsSync(labCgroupDir(layout)), false, 'the pod cgroups are removed');
    // The shared parents go with the last lab (none other runs under the kernel lock).
    assert.equal(existsSync(runRoot) && readdirSync(runRoot).length === 0, false, `${runRoot} left empty`);
    assert.equal(existsSync(bpfRoot) && readdirSync(bpfRoot).length === 0, false, `${bpfRoot} left empty`);
  });
});
