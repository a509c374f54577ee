import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { proxy as api } from '@cilium-ts/api';
import { Datapath, linkIfindex, type EndpointDatapathSpec } from '@cilium-ts/bpf';
import { PodLab } from '@cilium-ts/bpf/testing';
import { createClient, waitForReady } from '@cilium-ts/grpc';

// The real path on the kernel: pod a (egress DNS rule: allowed.example and *.svc.example,
// UDP and TCP port 53, to pod s) asks Debian's dnsmasq in pod s. The datapath redirects
// the queries (mark, node stack, TPROXY) to cilium-proxy's DNS listener in the node
// namespace, which forwards allowed ones to the original destination and answers denied
// ones REFUSED, malformed ones FORMERR; a's resolver (Node's c-ares) talks to s as usual.
const needsRoot = { skip: process.getuid?.() !== 0 && process.env.CI !== 'true' ? 'needs root' : false } as const;
const pid = process.pid;
const name = `l7d${pid % 100000}`;
const pods = {
  a: { ns: `${name}-a`, ip: '10.208.0.2', ip6: 'fd08::2', host: `l7da${pid}`, id: 81, identity: 8001 },
  s: { ns: `${name}-s`, ip: '10.208.0.3', ip6: 'fd08::3', host: `l7ds${pid}`, id: 82, identity: 8002 },
};
const bin = fileURLToPath(new URL('../bin/cilium-proxy.js', import.meta.url));
const dnsMessage = fileURLToPath(new URL('./dns-message.js', import.meta.url));
const DROP_NO_CONFIG = 165;

type Answer = { rcode: number; ips: string[]; from: string } | 'timeout';

/**
 * Runs one exchange in pod a's namespace and prints its result: `resolve` asks with Node's
 * resolver (c-ares, UDP) for the A records of `arg`; `udp` / `tcp` send a query for `arg`
 * (or `arg` as hex bytes when `raw`) and report the answer's rcode, A records and sender.
 */
function ask(mode: 'resolve' | 'udp' | 'tcp', arg: string, raw = false): Promise<Answer | string[] | { code: string }> {
  const script = `const [mode,arg,raw,server,lib]=process.argv.slice(1);
(async()=>{const m=await import(lib);const out=(x)=>{console.log(JSON.stringify(x));process.exit(0)};
setTimeout(()=>out('timeout'),2500);
if(mode==='resolve'){const r=new (require('dns').promises.Resolver)({timeout:2000,tries:1});r.setServers([server]);
 try{out(await r.resolve4(arg))}catch(e){out({code:e.code})}return}
const q=raw==='1'?Buffer.from(arg,'hex'):m.buildDnsQuery(4242,arg);
const done=(b,from)=>{const a=m.parseDnsMessage(b);out({rcode:a.rcode,ips:a.answers.filter(x=>x.ip).map(x=>x.ip),from})};
if(mode==='udp'){const s=require('dgram').createSocket('udp4');s.on('message',(b,r)=>done(b,r.address+':'+r.port));s.send(q,53,server);return}
const s=require('net').connect(53,server);let buf=Buffer.alloc(0);s.on('error',()=>out('closed'));s.on('end',()=>out('closed'));
s.on('data',(d)=>{buf=Buffer.concat([buf,d]);if(buf.length>=2&&buf.length>=2+buf.readUInt16BE(0))done(buf.subarray(2,2+buf.readUInt16BE(0)),s.remoteAddress+':'+s.remotePort)});
s.write(Buffer.concat([Buffer.from([q.length>>8,q.length&255]),q]))})()`;
  return new Promise((resolve, reject) => {
    execFile('ip', ['netns', 'exec', pods.a.ns, process.execPath, '-e', script, mode, arg, raw ? '1' : '0', pods.s.ip, dnsMessage], { timeout: 15000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}: ${stderr}`));
      else resolve(JSON.parse(stdout.trim()) as Answer);
    });
  });
}

describe('DNS proxy on the real kernel (egress rules.dns, dnsmasq upstream)', needsRoot, () => {
  const pinDir = `/sys/fs/bpf/cts-${name}`;
  const dir = mkdtempSync(join(tmpdir(), 'l7-dns-'));
  const sock = `unix://${join(dir, 'proxy.sock')}`;
  let lab: PodLab | undefined;
  let dp: Datapath | undefined;
  let dnsmasq: ChildProcess | undefined;
  let proxy: ChildProcess | undefined;
  let client: api.ProxyClient | undefined;
  let sync: ReturnType<api.ProxyClient['sync']> | undefined;
  const specs: Partial<Record<keyof typeof pods, EndpointDatapathSpec>> = {};
  const records: api.AccessLogRecord[] = [];
  // The agent's side of DnsMappings (toFQDNs): answers with addresses wait for its ack.
  let mappings: ReturnType<api.ProxyClient['dnsMappings']> | undefined;
  const learned: api.DnsMapping[] = [];
  let refuse = false;
  const drops165 = (): bigint => dp!.metricsList().filter((m) => m.reason === DROP_NO_CONFIG && m.direction === 'egress').reduce((n, m) => n + m.packets, 0n);

  before(async () => {
    Datapath.removePins(pinDir);
    lab = PodLab.create(`${name}-n`, { v4: '10.208.0.1', v6: 'fd08::1' }, pods);
    const [cmd, ...args] = lab.exec('s', ['dnsmasq', '--keep-in-foreground', '--conf-file=/dev/null', '--no-resolv', '--no-hosts', '--user=root', '--group=root',
      `--listen-address=${pods.s.ip}`, '--bind-interfaces', `--pid-file=${join(dir, 'dnsmasq.pid')}`, '--log-facility=-',
      '--address=/allowed.example/192.0.2.10', '--address=/denied.example/192.0.2.11', '--address=/svc.example/192.0.2.12']);
    dnsmasq = spawn(cmd!, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      dnsmasq!.stderr!.on('data', (d: Buffer) => { if (d.toString().includes('started')) resolve(); });
      dnsmasq!.once('exit', (code) => reject(new Error(`dnsmasq exited with ${code}`)));
    });
    dp = await Datapath.open({ pinDir, ctGcIntervalMs: 0, localDelivery: 'peer' });
    for (const k of ['a', 's'] as const) {
      const p = pods[k];
      dp.ipcacheUpsert(p.ip, p.identity);
      specs[k] = {
        id: p.id, identity: p.identity, hostIfname: p.host, hostIfindex: await linkIfindex({ ifname: p.host, netns: lab.nodeNetns }),
        ipv4: p.ip, ipv6: p.ip6, netns: lab.nodeNetns, ingressEnforced: false, egressEnforced: k === 'a',
      };
    }
    dp.ipcacheUpsert('10.208.0.1', 1);
    await dp.attachEndpoint(specs.s!, []);
    await dp.attachEndpoint(specs.a!, [
      { direction: 'egress', identity: pods.s.identity, protocol: 17, port: 53, deny: false, proxyPort: 10004 },
      { direction: 'egress', identity: pods.s.identity, protocol: 6, port: 53, deny: false, proxyPort: 10004 },
    ]);
    // nsenter, not `ip netns exec`: that remounts /sys, hiding bpffs and the pinned ipcache.
    proxy = spawn('nsenter', [`--net=${lab.nodeNetns}`, process.execPath, bin, '--listen', sock, '--bpf-pin-dir', pinDir, '--log-level', 'warn'], { stdio: ['ignore', 'inherit', 'inherit'] });
    client = createClient(api.ProxyClient, sock);
    await waitForReady(client, new Date(Date.now() + 20_000));
    sync = client.sync();
    sync.on('error', () => {});
    const ack = new Promise<api.PolicyAck>((resolve) => sync!.once('data', resolve));
    sync.write(api.PolicyUpdate.fromJSON({
      revision: '1',
      endpoints: [{ endpointId: pods.a.id, identity: pods.a.identity, addresses: [pods.a.ip, pods.a.ip6], ports: [{ direction: 'EGRESS', port: 53, proxyPort: 10004, peers: [{ identity: pods.s.identity, dns: [{ matchName: 'allowed.example' }, { matchPattern: '*.svc.example' }] }] }] }],
    }));
    assert.deepEqual((await ack).endpointIds, [pods.a.id]);
    mappings = client.dnsMappings();
    mappings.on('error', () => {});
    mappings.on('data', (m: api.DnsMapping) => {
      learned.push(m);
      mappings!.write(api.DnsMappingAck.fromPartial({ id: m.id, ok: !refuse, error: refuse ? 'refused by the test' : '' }));
    });
    const log = client.accessLog(api.AccessLogRequest.fromPartial({}));
    log.on('data', (r: api.AccessLogRecord) => records.push(r));
    log.on('error', () => {});
  });

  after(async () => {
    sync?.end();
    mappings?.end();
    client?.close();
    proxy?.kill('SIGKILL');
    dnsmasq?.kill('SIGKILL');
    if (dp) {
      for (const s of Object.values(specs)) await dp.detachEndpoint(s).catch(() => undefined);
      dp.close();
    }
    lab?.destroy();
    Datapath.removePins(pinDir);
    rmSync(dir, { recursive: true, force: true });
  });

  test('before the proxy is marked ready the DNS traffic the rule covers is dropped with reason 165', async () => {
    const before = drops165();
    assert.equal(await ask('udp', 'allowed.example'), 'timeout');
    assert.ok(drops165() > before, 'counted as DROP_NO_CONFIG');
  });

  test('the pod\'s resolver gets the allowed name from dnsmasq through the proxy; a denied name is REFUSED', async () => {
    dp!.proxyReadySet(pods.a.id, 10004, { ifindex: 0 });
    assert.deepEqual(await ask('resolve', 'allowed.example'), ['192.0.2.10']);
    assert.deepEqual(await ask('resolve', 'db.svc.example'), ['192.0.2.12']);
    assert.deepEqual(await ask('resolve', 'denied.example'), { code: 'EREFUSED' });
    assert.deepEqual(await ask('resolve', 'a.db.svc.example'), { code: 'EREFUSED' }, '* matches within one label');
    // The answers come from the server's address and port (the proxy is transparent).
    assert.deepEqual(await ask('udp', 'allowed.example'), { rcode: 0, ips: ['192.0.2.10'], from: `${pods.s.ip}:53` });
    assert.deepEqual(await ask('udp', 'denied.example'), { rcode: 5, ips: [], from: `${pods.s.ip}:53` });
    // Each query and answer is an access record with its DNS fields (Hubble's L7 DNS flows).
    for (let i = 0; i < 50 && !records.some((r) => r.dns?.query === 'denied.example.' && r.dns.transport === 'udp'); i++) await new Promise((r) => setTimeout(r, 20));
    const seen = records.filter((r) => r.dns?.transport === 'udp').map((r) => [r.type, r.verdict, r.dns!.query, r.dns!.ips.join(','), r.dns!.rcode, r.endpointId, r.sourceIdentity, r.destinationIdentity]);
    assert.deepEqual(seen.slice(-3), [
      ['request', api.Verdict.FORWARDED, 'allowed.example.', '', 0, pods.a.id, pods.a.identity, pods.s.identity],
      ['response', api.Verdict.FORWARDED, 'allowed.example.', '192.0.2.10', 0, pods.a.id, pods.a.identity, pods.s.identity],
      ['request', api.Verdict.DENIED, 'denied.example.', '', 5, pods.a.id, pods.a.identity, pods.s.identity],
    ]);
  });

  test('over TCP too; a malformed query gets FORMERR over UDP and TCP', async () => {
    assert.deepEqual(await ask('tcp', 'allowed.example'), { rcode: 0, ips: ['192.0.2.10'], from: `${pods.s.ip}:53` });
    assert.deepEqual(await ask('tcp', 'denied.example'), { rcode: 5, ips: [], from: `${pods.s.ip}:53` });
    const garbage = '1234010000010000000000000a616c6c6f776564';
    assert.deepEqual(await ask('udp', garbage, true), { rcode: 1, ips: [], from: `${pods.s.ip}:53` });
    assert.deepEqual(await ask('tcp', garbage, true), { rcode: 1, ips: [], from: `${pods.s.ip}:53` });
  });

  test('an answer with addresses reaches the pod only after the agent acked them (DnsMappings); refused or no agent: SERVFAIL', async () => {
    assert.ok(learned.some((m) => m.endpointId === pods.a.id && m.name === 'allowed.example.' && m.ips.join() === '192.0.2.10'), 'the agent was told before the answer was released');
    assert.equal(learned.some((m) => m.name === 'denied.example.'), false, 'a refused query teaches nothing');
    refuse = true;
    assert.deepEqual(await ask('udp', 'allowed.example'), { rcode: 2, ips: [], from: `${pods.s.ip}:53` });
    assert.deepEqual(await ask('tcp', 'db.svc.example'), { rcode: 2, ips: [], from: `${pods.s.ip}:53` });
    refuse = false;
    mappings!.end();
    mappings = undefined;
    assert.deepEqual(await ask('udp', 'allowed.example'), { rcode: 2, ips: [], from: `${pods.s.ip}:53` });
  });

  test('after the proxy is withdrawn (proxy_ready removed) DNS drops again', async () => {
    dp!.proxyReadyDelete(pods.a.id, 10004);
    assert.equal(await ask('udp', 'allowed.example'), 'timeout');
  });
});
