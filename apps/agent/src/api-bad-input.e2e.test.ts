// Bad input against a real agent (dual-stack, its own node namespace, a real etcd): every
// method of every agent service gets malformed or contradictory requests and must answer
// with the caller's status (INVALID_ARGUMENT, NOT_FOUND...), never INTERNAL or UNKNOWN,
// and change nothing: no address stays reserved by a refused CreateEndpoint, Release
// never frees another owner's address. The CNI plugin's second ADD of an attached
// container fails and leaves the pod's endpoint, veth pair and addresses as they were,
// and a failed ADD's rollback undoes only what that ADD created.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client, credentials, Metadata, status, type ServiceDefinition, type ServiceError } from '@grpc/grpc-js';
import { agent, health } from '@cilium-ts/api';
import { Datapath } from '@cilium-ts/bpf';
import { startTestEtcd, waitFor, type TestEtcd } from '@cilium-ts/kvstore/testing';

const skip = process.getuid?.() !== 0 && process.env.CI !== 'true' ? 'needs root' : false;
const base = `cts-badin-${process.pid}`;
const nodeNs = `${base}-n`;
const podNs = `${base}-p`;
const otherNs = `${base}-q`;
const workDir = `/tmp/${base}`;
const pinDir = `/sys/fs/bpf/${base}`;
const socket = `${workDir}/agent.sock`;
const appMain = (app: string): string => fileURLToPath(new URL(`../../${app}/dist/main.js`, import.meta.url));
const POD_CIDR = '10.213.0.0/24';

function sh(...argv: string[]): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** Every service of the agent API, by the name its methods are called by here. */
const SERVICES: Record<string, ServiceDefinition> = {
  Daemon: agent.DaemonService,
  Endpoints: agent.EndpointsService,
  Ipam: agent.IpamService,
  Policy: agent.PolicyService,
  Identities: agent.IdentitiesService,
  Monitor: agent.MonitorService,
  Metadata: agent.MetadataService,
  Bpf: agent.BpfService,
  Nodes: agent.NodesService,
  Health: health.HealthService,
};

interface Answer {
  code: status;
  details: string;
  value?: unknown;
}

/** Calls `Service.Method` with a request object; resolves with the status (streams: the first message or the error). */
function call(client: Client, method: string, request: object): Promise<Answer> {
  const [svc, name] = method.split('.') as [string, string];
  const def = Object.values(SERVICES[svc]!).find((m) => m.path.endsWith(`/${name}`))!;
  assert.ok(def, `no method ${method}`);
  const deadline = Date.now() + 20_000;
  // The request's message with every field at its default, then the case's fields.
  const message = { ...(def.requestDeserialize(Buffer.alloc(0)) as object), ...request };
  return new Promise((resolve) => {
    if (def.responseStream) {
      const stream = client.makeServerStreamRequest(def.path, def.requestSerialize, def.responseDeserialize, message, new Metadata(), { deadline });
      let settled = false;
      stream.on('data', (value: unknown) => {
        if (settled) return;
        settled = true;
        stream.cancel();
        resolve({ code: status.OK, details: '', value });
      });
      stream.on('error', (e: ServiceError) => {
        if (!settled) resolve({ code: e.code, details: e.details });
        settled = true;
      });
      stream.on('status', (s: { code: status; details: string }) => {
        if (!settled) resolve({ code: s.code, details: s.details });
        settled = true;
      });
      return;
    }
    client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, message, new Metadata(), { deadline }, (err, value) =>
      resolve(err ? { code: err.code, details: err.details } : { code: status.OK, details: '', value }),
    );
  });
}

/** Runs the CNI plugin in the node namespace as a runtime would. */
function cni(command: 'ADD' | 'DEL', containerId: string, labels: Record<string, string> = { app: 'badin' }, netns = podNs): Promise<{ code: number; out: { code?: number; msg?: string; ips?: Array<{ address: string }> } }> {
  const conf = { cniVersion: '1.0.0', name: 'cilium-ts', type: 'cilium-cni', 'agent-socket': `unix://${socket}`, runtimeConfig: { labels } };
  const env = {
    ...process.env, CNI_COMMAND: command, CNI_CONTAINERID: containerId, CNI_NETNS: `/run/netns/${netns}`,
    CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin', CNI_ARGS: 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=p',
  };
  return new Promise((resolve) => {
    const p = execFile('nsenter', [`--net=/run/netns/${nodeNs}`, '--', process.execPath, appMain('cni')], { env, timeout: 60_000 }, (err, stdout) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, out: stdout.trim() === '' ? {} : (JSON.parse(stdout) as object) }),
    );
    p.stdin!.end(JSON.stringify(conf));
  });
}

describe('bad input against a real agent', { skip }, () => {
  let etcd: TestEtcd | undefined;
  let child: ChildProcess | undefined;
  let client: Client;
  let podIp = '';
  let podIp6 = '';
  let podEndpoint: agent.Endpoint;
  const cid = `${base}-pod`;

  const allocations = async (): Promise<string[]> =>
    ((await call(client, 'Ipam.List', {})).value as agent.IpamListResponse).allocations.map((a) => `${a.ip}=${a.owner}`).sort();
  const hostLink = (name: string): { ifindex: number } | undefined => {
    const r = spawnSync('ip', ['-n', nodeNs, '-j', 'link', 'show', 'dev', name], { encoding: 'utf8' });
    return r.status === 0 ? (JSON.parse(r.stdout) as Array<{ ifindex: number }>)[0] : undefined;
  };

  before(async () => {
    for (const app of ['agent', 'cni']) if (!existsSync(appMain(app))) throw new Error(`${appMain(app)} is missing: run \`npm run build\` at the root first`);
    for (const ns of [nodeNs, podNs, otherNs]) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    Datapath.removePins(pinDir);
    rmSync(workDir, { recursive: true, force: true });
    mkdirSync(`${workDir}/state`, { recursive: true });
    etcd = await startTestEtcd('badin');
    sh('ip', 'netns', 'add', nodeNs);
    sh('ip', 'netns', 'add', podNs);
    sh('ip', 'netns', 'add', otherNs);
    sh('ip', '-n', nodeNs, 'link', 'set', 'lo', 'up');
    const log = openSync(`${workDir}/agent.log`, 'a');
    // prettier-ignore
    child = spawn(process.execPath, [
      appMain('agent'), '--node-name', base, '--pod-cidr', POD_CIDR, '--pod-cidr-v6', 'fd00:213::/120',
      '--node-netns', `/run/netns/${nodeNs}`, '--kvstore-endpoints', etcd.endpoint, '--kvstore-prefix', base,
      '--state-dir', `${workDir}/state`, '--bpf-pin-dir', pinDir, '--listen', `unix://${socket}`,
    ], { stdio: ['ignore', log, log] });
    client = new Client(`unix://${socket}`, credentials.createInsecure());
    await waitFor('the agent API', async () => child?.exitCode !== null || (await call(client, 'Daemon.Status', {})).code === status.OK, 60_000);
    assert.equal(child.exitCode, null, `the agent exited: ${readFileSync(`${workDir}/agent.log`, 'utf8').slice(-2000)}`);
    const add = await cni('ADD', cid);
    assert.equal(add.code, 0, JSON.stringify(add.out));
    [podIp, podIp6] = add.out.ips!.map((i) => i.address.split('/')[0]!);
    podEndpoint = (await call(client, 'Endpoints.GetEndpoint', { containerId: cid })).value as agent.Endpoint;
  });

  after(async () => {
    client?.close();
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
      await new Promise((r) => child!.once('exit', r));
    }
    for (const ns of [podNs, otherNs, nodeNs]) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    Datapath.removePins(pinDir);
    rmSync(workDir, { recursive: true, force: true });
    await etcd?.stop();
  });

  test('every method answers malformed requests with the caller\'s status, never INTERNAL or UNKNOWN, and changes nothing', async () => {
    const deep = 'a: ' + '{b: '.repeat(3000) + '1' + '}'.repeat(3000);
    const bigDoc = `description: "${'x'.repeat(5 * 1024 * 1024)}"\n`;
    const bigLabel = JSON.stringify({ endpointSelector: {}, labels: [`k8s:app=${'v'.repeat(300_000)}`] });
    const ep = podEndpoint.id;
    // [method, request, expected status, what the message must say]
    const cases: Array<[string, object, status, RegExp?]> = [
      ['Daemon.Status', {}, status.OK],
      ['Daemon.GetConfig', {}, status.OK],
      ['Endpoints.CreateEndpoint', {}, status.INVALID_ARGUMENT, /container_id: is required/],
      ['Endpoints.CreateEndpoint', { containerId: 'x', ipv4: '10.213.0.50', ipv6: 'fd00:213::50' }, status.INVALID_ARGUMENT, /host_ifname: is required/],
      ['Endpoints.CreateEndpoint', { containerId: 'x', hostIfname: 'lxcnothere', ipv4: '10.213.0.51', ipv6: 'fd00:213::51' }, status.INVALID_ARGUMENT, /lxcnothere does not exist/],
      ['Endpoints.CreateEndpoint', { containerId: 'x', hostIfname: podEndpoint.hostIfname, ipv4: '10.99.0.5' }, status.INVALID_ARGUMENT, /not an allocatable address/],
      ['Endpoints.CreateEndpoint', { containerId: 'x', hostIfname: podEndpoint.hostIfname, ipv4: podIp }, status.INVALID_ARGUMENT, new RegExp(`already allocated to ${cid}`)],
      ['Endpoints.CreateEndpoint', { containerId: 'x', hostIfname: 'lxcx', ipv4: '10.213.0.52', labels: [`k8s:app=${'v'.repeat(254)}`] }, status.INVALID_ARGUMENT, /labels\[0\]: value is 254 characters, limit 253/],
      ['Endpoints.DeleteEndpoint', {}, status.INVALID_ARGUMENT, /id or container_id is required/],
      ['Endpoints.DeleteEndpoint', { id: ep, containerId: 'other' }, status.INVALID_ARGUMENT, new RegExp(`endpoint ${ep} belongs to container "${cid}", not "other"`)],
      ['Endpoints.DeleteEndpoint', { id: 4000 }, status.OK],
      ['Endpoints.GetEndpoint', {}, status.INVALID_ARGUMENT, /id or container_id is required/],
      ['Endpoints.GetEndpoint', { id: ep, containerId: 'other' }, status.INVALID_ARGUMENT, /not "other"/],
      ['Endpoints.GetEndpoint', { id: 4000 }, status.NOT_FOUND],
      ['Endpoints.GetEndpoint', { containerId: 'nobody' }, status.NOT_FOUND],
      ['Endpoints.ListEndpoints', {}, status.OK],
      ['Endpoints.GetEndpointConfig', {}, status.INVALID_ARGUMENT],
      ['Endpoints.GetEndpointConfig', { id: 4000 }, status.NOT_FOUND],
      ['Endpoints.PatchEndpointConfig', { id: ep, options: {} }, status.INVALID_ARGUMENT],
      ['Endpoints.PatchEndpointConfig', { id: ep, options: { Nope: 'true' } }, status.INVALID_ARGUMENT],
      ['Endpoints.PatchEndpointConfig', { id: ep, options: { Debug: 'maybe' } }, status.INVALID_ARGUMENT],
      ['Endpoints.PatchEndpointConfig', { id: 4000, options: { Debug: 'true' } }, status.NOT_FOUND],
      ['Ipam.Allocate', {}, status.INVALID_ARGUMENT, /owner is required/],
      ['Ipam.Allocate', { owner: 'x', family: 'ipx' }, status.INVALID_ARGUMENT, /not one of ipv4, ipv6/],
      ['Ipam.Allocate', { owner: 'x', ip: 'garbage' }, status.INVALID_ARGUMENT, /not an IPv4 address/],
      ['Ipam.Allocate', { owner: 'x', ip: '10.99.0.1' }, status.INVALID_ARGUMENT, /not an allocatable address/],
      ['Ipam.Allocate', { owner: 'x', ip: podIp }, status.INVALID_ARGUMENT, /already allocated/],
      ['Ipam.Release', {}, status.INVALID_ARGUMENT, /owner is required/],
      ['Ipam.Release', { ip: podIp }, status.INVALID_ARGUMENT, /owner is required/],
      ['Ipam.Release', { ip: podIp, owner: 'wrong-owner' }, status.INVALID_ARGUMENT, new RegExp(`${podIp.replace(/\./g, '\\.')} is allocated to owner "${cid}", not to "wrong-owner"`)],
      ['Ipam.Release', { ip: podIp6, owner: 'wrong-owner' }, status.INVALID_ARGUMENT, /not to "wrong-owner"/],
      ['Ipam.Release', { ip: 'garbage', owner: 'x' }, status.INVALID_ARGUMENT, /not an IPv4 address/],
      ['Ipam.List', {}, status.OK],
      ['Policy.Import', {}, status.INVALID_ARGUMENT, /document is empty/],
      ['Policy.Import', { document: 'a: [' }, status.INVALID_ARGUMENT, /cannot parse as JSON or YAML/],
      ['Policy.Import', { document: deep }, status.INVALID_ARGUMENT, /deeper than 64 levels at line 1, column \d+/],
      ['Policy.Import', { document: bigDoc }, status.INVALID_ARGUMENT, new RegExp(`^document: policy document too large \\(${bigDoc.length} bytes, limit 2097152\\)`)],
      ['Policy.Import', { document: bigLabel }, status.INVALID_ARGUMENT, /labels\[0\]: .* value is 300000 characters, limit 253/],
      ['Policy.Get', { labels: ['='] }, status.INVALID_ARGUMENT, /empty key/],
      ['Policy.Get', { labels: ['a=b=c'] }, status.INVALID_ARGUMENT, /more than one "="/],
      ['Policy.Get', { labels: [''] }, status.INVALID_ARGUMENT, /empty key/],
      ['Policy.Delete', {}, status.INVALID_ARGUMENT],
      ['Policy.Delete', { labels: ['='] }, status.INVALID_ARGUMENT, /empty key/],
      ['Policy.Delete', { labels: ['a=b=c'] }, status.INVALID_ARGUMENT, /more than one "="/],
      ['Policy.Delete', { labels: [''] }, status.INVALID_ARGUMENT, /empty key/],
      ['Policy.Delete', { labels: ['k8s:a=b'], all: true }, status.INVALID_ARGUMENT, /not both/],
      ['Policy.Validate', { document: bigDoc }, status.INVALID_ARGUMENT, /policy document too large/],
      ['Policy.Validate', { document: 'a: [' }, status.OK],
      ['Policy.Wait', { revision: 0n }, status.OK],
      ['Policy.Wait', { revision: 99n, timeoutMs: 50 }, status.DEADLINE_EXCEEDED, /revision 99 is not enforced on this node after 50 ms: it enforces revision 0/],
      ['Policy.Wait', { revision: 2n ** 60n }, status.INVALID_ARGUMENT, /out of range/],
      ['Identities.ListIdentities', {}, status.OK],
      ['Identities.GetIdentity', {}, status.INVALID_ARGUMENT],
      ['Identities.GetIdentity', { id: 99999 }, status.NOT_FOUND],
      ['Monitor.Listen', { types: [3] }, status.INVALID_ARGUMENT, /types\[0\]: 3 is not a datapath event type \(1 drop, 2 debug, 4 trace, 5 policyVerdict\)/],
      ['Monitor.Listen', { types: [1, 99] }, status.INVALID_ARGUMENT, /types\[1\]: 99/],
      ['Metadata.Watch', {}, status.OK],
      ['Bpf.PolicyGet', {}, status.INVALID_ARGUMENT],
      ['Bpf.PolicyGet', { endpointId: 4000 }, status.NOT_FOUND],
      ['Bpf.CtList', {}, status.OK],
      ['Bpf.IpcacheList', {}, status.OK],
      ['Bpf.MetricsList', {}, status.OK],
      ['Nodes.ListNodes', {}, status.OK],
      ['Health.Check', { service: 'no.such.Service' }, status.NOT_FOUND],
      ['Health.Watch', { service: '' }, status.OK],
    ];
    // Systematic: every method of every service is exercised.
    const covered = new Set(cases.map(([m]) => m));
    for (const [svc, def] of Object.entries(SERVICES)) {
      for (const m of Object.values(def)) {
        const name = `${svc}.${m.path.split('/').pop()}`;
        assert.ok(covered.has(name), `${name} has no case`);
      }
    }
    const before = await allocations();
    const revision = ((await call(client, 'Daemon.Status', {})).value as agent.StatusResponse).policyRevision;
    const wrong: string[] = [];
    for (const [method, request, want, message] of cases) {
      const got = await call(client, method, request);
      const text = `${method} ${JSON.stringify(request, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)).slice(0, 120)} -> ${status[got.code]} ${got.details.slice(0, 300)}`;
      if (got.code === status.INTERNAL || got.code === status.UNKNOWN || got.code !== want || (message && !message.test(got.details))) wrong.push(text);
    }
    assert.deepEqual(wrong, [], wrong.join('\n'));
    assert.deepEqual(await allocations(), before, 'refused requests reserve or release no address');
    assert.equal(((await call(client, 'Daemon.Status', {})).value as agent.StatusResponse).policyRevision, revision, 'and change no policy');
    const still = (await call(client, 'Endpoints.GetEndpoint', { containerId: cid })).value as agent.Endpoint;
    assert.deepEqual([still.id, still.ipv4, still.ipv6, still.state], [podEndpoint.id, podIp, podIp6, 'ready']);
  });

  test('a second CNI ADD of an attached container fails with 103 and changes nothing', async () => {
    const allocs = await allocations();
    const link = hostLink(podEndpoint.hostIfname);
    assert.ok(link, 'the pod\'s host veth exists');
    const again = await cni('ADD', cid);
    assert.equal(again.code, 1);
    assert.equal(again.out.code, 103, JSON.stringify(again.out));
    assert.match(again.out.msg!, new RegExp(`already attached: endpoint ${podEndpoint.id} .*nothing was changed`));
    const ep = (await call(client, 'Endpoints.GetEndpoint', { containerId: cid })).value as agent.Endpoint;
    assert.deepEqual([ep.id, ep.ipv4, ep.ipv6, ep.hostIfindex, ep.state], [podEndpoint.id, podIp, podIp6, podEndpoint.hostIfindex, 'ready']);
    assert.deepEqual(hostLink(podEndpoint.hostIfname), link, 'the same host veth, not a new one');
    assert.deepEqual(await allocations(), allocs, 'no address allocated or released');
  });

  test('a failed ADD rolls back only what it created: an address the container held before stays', async () => {
    const other = `${base}-other`;
    const held = (await call(client, 'Ipam.Allocate', { owner: other, family: 'ipv4' })).value as agent.IpamAllocateResponse;
    const allocs = await allocations();
    // The agent refuses the endpoint (a label value over the limit) after the veth and addresses exist.
    const add = await cni('ADD', other, { app: 'v'.repeat(254) }, otherNs);
    assert.equal(add.code, 1);
    assert.equal(add.out.code, 100, JSON.stringify(add.out));
    assert.match(add.out.msg!, /value is 254 characters, limit 253/);
    assert.deepEqual(await allocations(), allocs, `only the ADD's own addresses were released; ${held.ip} is still ${other}'s`);
    assert.equal((await call(client, 'Endpoints.GetEndpoint', { containerId: other })).code, status.NOT_FOUND);
    const lxc = sh('ip', '-n', nodeNs, '-o', 'link', 'show').split('\n').filter((l) => /: lxc/.test(l));
    assert.equal(lxc.length, 1, `only the attached pod's veth is left: ${lxc.join('\n')}`);
    assert.equal((await call(client, 'Ipam.Release', { owner: other })).code, status.OK);
  });

  test('CNI DEL of the pod, then its address can be taken again', async () => {
    const del = await cni('DEL', cid);
    assert.equal(del.code, 0, JSON.stringify(del.out));
    assert.equal(hostLink(podEndpoint.hostIfname), undefined);
    assert.deepEqual((await allocations()).filter((a) => a.endsWith(`=${cid}`)), []);
  });
});
