import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { proxy as api } from '@cilium-ts/api';
import { Datapath, DropReason, linkIfindex, type EndpointDatapathSpec } from '@cilium-ts/bpf';
import { PodLab } from '@cilium-ts/bpf/testing';
import { createClient, waitForReady } from '@cilium-ts/grpc';
import { createLogger } from '@cilium-ts/process';
import { PolicyEngine, parsePolicyDocument, type EndpointPolicyHandle } from '@cilium-ts/policy';
import { DnsMappingClient } from './dns-mapping-client.js';
import { FqdnNameManager } from './fqdn-name-manager.js';
import { buildL7Endpoints } from './l7-endpoint-policy.js';

// toFQDNs on the real kernel, with the agent's own pieces (policy engine, fqdn name
// manager, DnsMappings client, the ipcache and policy-map writes) and a real cilium-proxy:
// pod a may resolve allowed.example (rules.dns) at Debian's dnsmasq in pod s and connect
// to what it resolves to on TCP 80 (toFQDNs); w stands for the outside (not an endpoint,
// an HTTP-ish server on :80 at the address dnsmasq gives for allowed.example, TTL 2 s).
const needsRoot = { skip: process.getuid?.() !== 0 && process.env.CI !== 'true' ? 'needs root' : false } as const;
const pid = process.pid;
const name = `fq${pid % 100000}`;
const pods = {
  a: { ns: `${name}-a`, ip: '10.209.0.2', ip6: 'fd09::2', host: `fqa${pid}`, id: 91, identity: 9001 },
  s: { ns: `${name}-s`, ip: '10.209.0.3', ip6: 'fd09::3', host: `fqs${pid}`, id: 92, identity: 9002 },
  w: { ns: `${name}-w`, ip: '10.209.0.4', ip6: 'fd09::4', host: `fqw${pid}`, id: 93, identity: 0 },
};
const proxyBin = fileURLToPath(new URL('../../../proxy/bin/cilium-proxy.js', import.meta.url));
const logger = createLogger('test', { level: 'error' });

type Result = { resolved?: string[] | { code: string }; connected?: 'ok' | 'timeout' | string };

/**
 * In pod a: resolves `host` (Node's resolver, UDP, at s) when given, then connects to
 * `connectTo` (or the first address resolved) on TCP 80 at once, in the same process.
 */
function inPodA(host: string | undefined, connectTo?: string): Promise<Result> {
  const script = `const [host,server,to]=process.argv.slice(1);const out={};
const done=()=>{console.log(JSON.stringify(out));process.exit(0)};
const connect=(ip)=>{const s=require('net').connect(80,ip);const t=setTimeout(()=>{out.connected='timeout';done()},2000);
 s.on('data',(d)=>{clearTimeout(t);out.connected=d.toString()==='hi'?'ok':d.toString();done()});s.on('error',(e)=>{clearTimeout(t);out.connected=e.code;done()})};
(async()=>{let ip=to;if(host){const r=new (require('dns').promises.Resolver)({timeout:2000,tries:1});r.setServers([server]);
 try{out.resolved=await r.resolve4(host);ip=ip||out.resolved[0]}catch(e){out.resolved={code:e.code}}}
 if(ip)connect(ip);else done()})()`;
  return new Promise((resolve, reject) => {
    execFile('ip', ['netns', 'exec', pods.a.ns, process.execPath, '-e', script, host ?? '', pods.s.ip, connectTo ?? ''], { timeout: 20000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}: ${stderr}`));
      else resolve(JSON.parse(stdout.trim()) as Result);
    });
  });
}

describe('toFQDNs on the real kernel: DNS-learned IPs in the ipcache and policy map before the answer, TTL expiry', needsRoot, () => {
  const pinDir = `/sys/fs/bpf/cts-${name}`;
  const dir = mkdtempSync(join(tmpdir(), 'fqdn-'));
  const sock = `unix://${join(dir, 'proxy.sock')}`;
  let lab: PodLab | undefined;
  let dp: Datapath | undefined;
  const children: ChildProcess[] = [];
  let client: api.ProxyClient | undefined;
  let sync: ReturnType<api.ProxyClient['sync']> | undefined;
  let mappings: DnsMappingClient | undefined;
  let manager: FqdnNameManager | undefined;
  let handle: EndpointPolicyHandle | undefined;
  const specs: Partial<Record<'a' | 's', EndpointDatapathSpec>> = {};
  const policyDrops = (): bigint => dp!.metricsList().filter((m) => m.reason === DropReason.policy && m.direction === 'egress').reduce((n, m) => n + m.packets, 0n);
  const started = (c: ChildProcess, text: string): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      c.stderr!.on('data', (d: Buffer) => { if (d.toString().includes(text)) resolve(); });
      c.stdout?.on('data', (d: Buffer) => { if (d.toString().includes(text)) resolve(); });
      c.once('exit', (code) => reject(new Error(`${String(c.spawnargs.slice(0, 6))} exited with ${code}`)));
    });

  before(async () => {
    Datapath.removePins(pinDir);
    lab = PodLab.create(`${name}-n`, { v4: '10.209.0.1', v6: 'fd09::1' }, pods);
    const [cmd, ...args] = lab.exec('s', ['dnsmasq', '--keep-in-foreground', '--conf-file=/dev/null', '--no-resolv', '--no-hosts', '--user=root', '--group=root',
      `--listen-address=${pods.s.ip}`, '--bind-interfaces', `--pid-file=${join(dir, 'dnsmasq.pid')}`, '--log-facility=-', '--local-ttl=2',
      `--address=/allowed.example/${pods.w.ip}`, '--address=/denied.example/192.0.2.11']);
    const dnsmasq = spawn(cmd!, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(dnsmasq);
    await started(dnsmasq, 'started');
    const [wcmd, ...wargs] = lab.exec('w', [process.execPath, '-e', "require('net').createServer((s)=>s.end('hi')).listen(80,()=>console.error('listening'))"]);
    const web = spawn(wcmd!, wargs, { stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(web);
    await started(web, 'listening');

    // The agent's side: policy engine with a's rules, ipcache and policy map following it.
    const engine = new PolicyEngine({ identities: [[pods.s.identity, ['k8s:app=dns']]] });
    engine.addRules(parsePolicyDocument(JSON.stringify([{
      endpointSelector: { matchLabels: { app: 'client' } },
      egress: [
        { toEndpoints: [{ matchLabels: { app: 'dns' } }], toPorts: [{ ports: [{ port: '53', protocol: 'ANY' }], rules: { dns: [{ matchName: 'allowed.example' }] } }] },
        { toFQDNs: [{ matchName: 'allowed.example' }], toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }] }] },
      ],
    }])));
    dp = await Datapath.open({ pinDir, ctGcIntervalMs: 0, localDelivery: 'peer' });
    engine.onPrefixChange((c) => {
      for (const p of c.deleted) dp!.ipcacheDelete(p.prefix);
      for (const p of c.upserted) dp!.ipcacheUpsert(p.prefix, p.identity);
    });
    for (const k of ['a', 's'] as const) {
      const p = pods[k];
      dp.ipcacheUpsert(p.ip, p.identity);
      specs[k] = {
        id: p.id, identity: p.identity, hostIfname: p.host, hostIfindex: await linkIfindex({ ifname: p.host, netns: lab.nodeNetns }),
        ipv4: p.ip, ipv6: p.ip6, netns: lab.nodeNetns, ingressEnforced: false, egressEnforced: k === 'a',
      };
    }
    dp.ipcacheUpsert('10.209.0.1', 1);
    handle = engine.endpoint(['k8s:app=client']);
    await dp.attachEndpoint(specs.s!, []);
    await dp.attachEndpoint(specs.a!, handle.entries());
    handle.onChange((diff) => dp!.applyPolicyDiff(pods.a.id, diff));
    manager = new FqdnNameManager({ engine, minTtlSeconds: 0, logger });

    // The proxy, fed with a's DNS rule, and the DnsMappings stream to the manager.
    const proxy = spawn('nsenter', [`--net=${lab.nodeNetns}`, process.execPath, proxyBin, '--listen', sock, '--bpf-pin-dir', pinDir, '--log-level', 'warn'], { stdio: ['ignore', 'inherit', 'inherit'] });
    children.push(proxy);
    client = createClient(api.ProxyClient, sock);
    await waitForReady(client, new Date(Date.now() + 60_000));
    sync = client.sync();
    sync.on('error', () => {});
    const ack = new Promise<api.PolicyAck>((resolve) => sync!.once('data', resolve));
    sync.write(api.PolicyUpdate.fromPartial({ revision: 1n, endpoints: buildL7Endpoints([{ id: pods.a.id, identity: pods.a.identity, ipv4: pods.a.ip, handle }]) }));
    assert.deepEqual((await ack).endpointIds, [pods.a.id]);
    dp.proxyReadySet(pods.a.id, 10004, { ifindex: 0 });
    mappings = new DnsMappingClient({ address: sock, learn: (a) => manager!.learn(a), logger, reconnectMs: 100 });
    mappings.start();
    // The proxy answers SERVFAIL until the agent's stream is attached: wait for it.
    for (let i = 0; i < 100; i++) {
      const r = await inPodA('allowed.example', pods.s.ip);
      if (Array.isArray(r.resolved)) break;
    }
    manager.clean();
  });

  after(async () => {
    mappings?.stop();
    sync?.end();
    client?.close();
    for (const c of children) c.kill('SIGKILL');
    await manager?.stop();
    if (dp) {
      for (const s of Object.values(specs)) await dp.detachEndpoint(s).catch(() => undefined);
      dp.close();
    }
    lab?.destroy();
    Datapath.removePins(pinDir);
    rmSync(dir, { recursive: true, force: true });
  });

  test('the IP of a name never resolved is dropped by policy (reason 133)', async () => {
    const before = policyDrops();
    assert.deepEqual(await inPodA(undefined, pods.w.ip), { connected: 'timeout' });
    assert.ok(policyDrops() > before, 'counted as Policy denied');
    assert.deepEqual(manager!.list(), []);
  });

  test('an allowed name resolves and its IP connects at once (ipcache and policy map written before the answer); a denied name is REFUSED', async () => {
    assert.deepEqual(await inPodA('allowed.example'), { resolved: [pods.w.ip], connected: 'ok' });
    const entries = manager!.list();
    assert.deepEqual(entries.map((e) => [e.endpointId, e.name, e.ip, e.ttl]), [[pods.a.id, 'allowed.example.', pods.w.ip, 2]]);
    const id = dp!.ipcacheList().find((e) => e.cidr === `${pods.w.ip}/32`)?.identity;
    assert.ok(id !== undefined && id >= 1 << 24, `a local identity for ${pods.w.ip} in the kernel's ipcache (got ${id})`);
    assert.ok(dp!.policyList(pods.a.id).some((e) => e.direction === 'egress' && e.identity === id && e.port === 80), 'in a\'s policy map');
    assert.deepEqual(await inPodA('denied.example'), { resolved: { code: 'EREFUSED' } });
  });

  test('after the TTL (2 s from dnsmasq) the IP is dropped again', async () => {
    for (let i = 0; i < 200 && manager!.list().length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(manager!.list(), [], 'the entry expired');
    assert.equal(dp!.ipcacheList().some((e) => e.cidr === `${pods.w.ip}/32`), false);
    const before = policyDrops();
    assert.deepEqual(await inPodA(undefined, pods.w.ip), { connected: 'timeout' });
    assert.ok(policyDrops() > before);
  });
});
