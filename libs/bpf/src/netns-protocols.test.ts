// Real traffic between pod namespaces over IPv4 and IPv6: TCP, UDP, ICMP / ICMPv6 and
// SCTP under allow, deny and no policy; and per-connection event aggregation (a long
// TCP stream yields a bounded number of events while every drop is reported).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { Datapath, type EndpointDatapathSpec } from './datapath.js';
import type { EventReader } from './event-reader.js';
import { DropReason, EventType } from './event-record.js';
import type { PolicyEntry } from './map-codecs.js';
import { PodLab } from './testing/pod-lab.js';
import { linkIfindex } from './tc-attach.js';
import { EventCollector, needsRoot, uniqueName } from './testing/test-support.js';
import { tcpConnect } from './testing/netns-connect.js';

const pid = process.pid;
const name = uniqueName('proto');
const pods = {
  a: { ns: `${name}-a`, ip: '10.208.0.2', ip6: 'fd08::2', host: `lpa${pid}`, id: 31, identity: 3001 },
  b: { ns: `${name}-b`, ip: '10.208.0.3', ip6: 'fd08::3', host: `lpb${pid}`, id: 32, identity: 3002 },
};
const TCP_OK = 8080;
const TCP_NO = 8081;
const UDP_OK = 5353;
const UDP_NO = 5354;
const SCTP_OK = 3868;
const SCTP_NO = 3869;
const ICMP6_ECHO_REQUEST = 128;

/** Runs a node script in a pod; resolves its trimmed stdout. */
function inPod(ns: string, script: string, args: Array<string | number>, cmd = process.execPath, flag = '-e'): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ip', ['netns', 'exec', ns, cmd, flag, script, ...args.map(String)], { timeout: 20000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}: ${stderr}`, { cause: err }));
      else resolve(stdout.trim());
    });
  });
}


/** Sends count UDP datagrams to host:port; resolves how many echoes came back. */
const udpEcho = (host: string, port: number, count = 1): Promise<number> => inPod(pods.a.ns,
  `const s=require('dgram').createSocket(process.argv[1].includes(':')?'udp6':'udp4');let n=0;s.on('message',()=>n++);` +
  `for(let i=0;i<+process.argv[3];i++)s.send('x',+process.argv[2],process.argv[1]);setTimeout(()=>{console.log(String(n));s.close()},800)`, [host, port, count]).then(Number);

/**
 * Sends one raw SCTP INIT from pod a to b:port; resolves what b's raw socket saw. The
 * receiver's socket is open before the INIT is sent (it prints "ready"), so a slow start of
 * the receiver on a loaded machine cannot turn a delivered packet into a timeout.
 */
const sctpProbe = async (port: number): Promise<string> => {
  const child = spawn('ip', ['netns', 'exec', pods.b.ns, 'python3', '-u', '-c', `import socket,sys
s=socket.socket(socket.AF_INET,socket.SOCK_RAW,132);s.settimeout(3)
print('ready',flush=True)
try:
  while True:
    d=s.recv(2048);p=int.from_bytes(d[22:24],'big')
    if p==int(sys.argv[1]):print('got');break
except socket.timeout:print('timeout')`, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const done = new Promise<string>((resolve) => child.on('close', () => resolve(out.split('\n').map((l) => l.trim()).filter((l) => l && l !== 'ready').join(''))));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('ready')) resolve(); });
    child.on('close', (code) => reject(new Error(`SCTP receiver in ${pods.b.ns} exited (${code}) before it was ready: ${out}`)));
  });
  await inPod(pods.a.ns, `import socket,sys
s=socket.socket(socket.AF_INET,socket.SOCK_RAW,132)
hdr=(40000).to_bytes(2,'big')+int(sys.argv[2]).to_bytes(2,'big')+bytes(8)
chunk=bytes([1,0,0,20])+bytes(16)
s.sendto(hdr+chunk,(sys.argv[1],0))`, [pods.b.ip, port], 'python3', '-c');
  return done;
};

const ping = (ip: string): boolean =>
  spawnSync('ip', ['netns', 'exec', pods.a.ns, 'ping', '-c', '1', '-W', '1', ip], { stdio: 'ignore' }).status === 0;

describe('netns: IPv4 and IPv6 TCP, UDP, ICMP and SCTP through the datapath', needsRoot, () => {
  const pinDir = `/sys/fs/bpf/${name}`;
  let lab: PodLab | undefined;
  let dp: Datapath | undefined;
  let reader: EventReader | undefined;
  let events: EventCollector;
  const servers: ChildProcess[] = [];
  const specs: Record<'a' | 'b', EndpointDatapathSpec> = {} as never;
  const allow = (protocol: number, port: number): PolicyEntry => ({ direction: 'ingress', identity: pods.a.identity, protocol, port, deny: false });
  const policyB = [allow(6, TCP_OK), allow(17, UDP_OK), allow(132, SCTP_OK)];

  before(async () => {
    Datapath.removePins(pinDir);
    lab = PodLab.create(`${name}-n`, { v4: '10.208.0.1', v6: 'fd08::1' }, pods);
    const serve = `const net=require('net'),dgram=require('dgram');let n=0;const up=()=>{if(++n===6)console.log('listening')};` +
      `for(const port of [${TCP_OK},${TCP_NO},9000]){net.createServer((s)=>{s.on('error',()=>{});s.resume();s.on('end',()=>s.end())}).listen(port,'::',up)}` +
      `for(const [f,port] of [['udp4',${UDP_OK}],['udp6',${UDP_OK}],['udp4',${UDP_NO}]]){if(f==='udp6'&&port!==${UDP_OK})continue;` +
      `const s=dgram.createSocket({type:f,ipv6Only:f==='udp6'});s.on('message',(m,r)=>s.send(m,r.port,r.address));s.bind(port,f==='udp6'?'::':'0.0.0.0',up)}` +
      `{const s=dgram.createSocket({type:'udp6',ipv6Only:true});s.on('message',(m,r)=>s.send(m,r.port,r.address));s.bind(${UDP_NO},'::',up)}`;
    const server = spawn('ip', ['netns', 'exec', pods.b.ns, process.execPath, '-e', serve], { stdio: ['ignore', 'pipe', 'inherit'] });
    servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('listening')) resolve(); });
      server.once('exit', (code) => reject(new Error(`test server exited with ${code}`)));
    });
    dp = await Datapath.open({ pinDir });
    for (const [k, p] of Object.entries(pods) as Array<['a' | 'b', (typeof pods)['a']]>) {
      dp.ipcacheUpsert(`${p.ip}/32`, p.identity);
      dp.ipcacheUpsert(`${p.ip6}/128`, p.identity);
      specs[k] = {
        id: p.id, identity: p.identity, hostIfname: p.host, hostIfindex: await linkIfindex({ ifname: p.host, netns: lab.nodeNetns }),
        ipv4: p.ip, ipv6: p.ip6, netns: lab.nodeNetns, ingressEnforced: k === 'b', egressEnforced: false,
      };
    }
    reader = dp.events({ pollMs: 50 });
    events = new EventCollector(reader);
    await reader.ready();
    await dp.attachEndpoint(specs.a, []);
    await dp.attachEndpoint(specs.b, policyB);
  });

  after(async () => {
    for (const s of servers) s.kill('SIGKILL');
    await reader?.close();
    if (dp) {
      for (const s of Object.values(specs)) await dp.detachEndpoint(s).catch(() => undefined);
      dp.close();
    }
    lab?.destroy();
    Datapath.removePins(pinDir);
  });

  test('TCP over IPv4 and IPv6: the allowed port connects, another is dropped', async () => {
    for (const ip of [pods.b.ip, pods.b.ip6]) {
      assert.equal(await tcpConnect(pods.a.ns, ip, TCP_OK), 'connected', `${ip}:${TCP_OK}`);
      assert.equal(await tcpConnect(pods.a.ns, ip, TCP_NO), 'timeout', `${ip}:${TCP_NO}`);
    }
  });

  test('UDP over IPv4 and IPv6: echoes on the allowed port, nothing on another; the dropped IPv6 datagram is reported as IPv6', async () => {
    assert.equal(await udpEcho(pods.b.ip, UDP_OK), 1);
    assert.equal(await udpEcho(pods.b.ip6, UDP_OK), 1);
    events.clear();
    assert.equal(await udpEcho(pods.b.ip, UDP_NO), 0);
    assert.equal(await udpEcho(pods.b.ip6, UDP_NO), 0);
    const drop6 = await events.waitFor('IPv6 UDP drop', (r) => r.type === EventType.drop && r.ipv6);
    assert.equal(drop6.subType, DropReason.policy);
    assert.equal(drop6.srcIdentity, pods.a.identity);
  });

  test('ICMP and ICMPv6 echo: dropped until allowed by ICMP type', async () => {
    assert.equal(ping(pods.b.ip), false);
    assert.equal(ping(pods.b.ip6), false, 'neighbour discovery passes, the echo request does not');
    dp!.updatePolicy(pods.b.id, [...policyB, allow(1, 8), allow(58, ICMP6_ECHO_REQUEST)]);
    assert.equal(ping(pods.b.ip), true);
    assert.equal(ping(pods.b.ip6), true);
    dp!.updatePolicy(pods.b.id, policyB);
  });

  test('SCTP (raw INIT): the allowed port arrives, another is dropped', async () => {
    assert.equal(await sctpProbe(SCTP_OK), 'got');
    assert.equal(await sctpProbe(SCTP_NO), 'timeout');
  });

  test('an explicit deny wins over the allow of the same port, over IPv6 too', async () => {
    dp!.updatePolicy(pods.b.id, [...policyB, { direction: 'ingress', identity: 0, protocol: 6, port: TCP_OK, deny: true }]);
    events.clear();
    assert.equal(await tcpConnect(pods.a.ns, pods.b.ip6, TCP_OK), 'timeout');
    const drop = await events.waitFor('deny drop', (r) => r.type === EventType.drop);
    assert.equal(drop.subType, DropReason.policyDeny);
    dp!.updatePolicy(pods.b.id, policyB);
  });

  test('a long TCP stream yields a bounded number of events; every dropped datagram is reported', async () => {
    events.clear();
    const bytes = 32 << 20;
    const sent = await inPod(pods.a.ns,
      `const s=require('net').connect({host:process.argv[1],port:+process.argv[2]},()=>{const b=Buffer.alloc(65536);let left=+process.argv[3];` +
      `const w=()=>{while(left>0){left-=b.length;if(!s.write(b))return s.once('drain',w)}s.end()};w()});s.on('close',()=>console.log('done'))`,
      [pods.b.ip, TCP_OK, bytes]);
    assert.equal(sent, 'done');
    const drops = 20;
    assert.equal(await udpEcho(pods.b.ip, UDP_NO, drops), 0);
    await events.waitFor(`${drops} UDP drops`, () => events.records.filter((r) => r.type === EventType.drop && r.packet.readUInt16BE(14 + 20 + 2) === UDP_NO).length >= drops);
    const stream = events.records.filter((r) => r.type !== EventType.drop && r.packet.length >= 14 + 20 + 4 && r.packet[14 + 9] === 6);
    const packets = dp!.metricsList().filter((m) => m.reason === 0).reduce((a, m) => a + m.packets, 0n);
    assert.ok(packets > 500n, `the stream was many packets (${packets} forwarded)`);
    // SYN, SYN-ACK, FINs, RST at both endpoints' programs, plus the verdict of the new connection.
    assert.ok(stream.length > 0 && stream.length <= 16, `events for the stream stay bounded: ${stream.length}`);
    assert.equal(events.records.filter((r) => r.type === EventType.drop).length, drops, 'every drop reported, nothing else dropped');
  });

  test('pod-to-pod packets are redirected between the host veths, not routed by the node', async () => {
    const forwarded = (): number => {
      const ip = spawnSync('ip', ['netns', 'exec', lab!.node, 'cat', '/proc/net/snmp'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.startsWith('Ip:'));
      const head = ip[0].split(' ');
      return Number(ip[1].split(' ')[head.indexOf('ForwDatagrams')]);
    };
    const before = forwarded();
    assert.equal(await tcpConnect(pods.a.ns, pods.b.ip, TCP_OK), 'connected');
    assert.equal(await udpEcho(pods.b.ip, UDP_OK, 5), 5);
    assert.equal(forwarded(), before, 'the node forwarded none of them');
  });

  test('with no policy (enforcement off) every protocol passes', async () => {
    await dp!.attachEndpoint({ ...specs.b, ingressEnforced: false }, []);
    assert.equal(await tcpConnect(pods.a.ns, pods.b.ip6, TCP_NO), 'connected');
    assert.equal(await udpEcho(pods.b.ip, UDP_NO), 1);
    assert.equal(await udpEcho(pods.b.ip6, UDP_NO), 1);
    assert.equal(await sctpProbe(SCTP_NO), 'got');
    assert.equal(ping(pods.b.ip6), true);
  });
});
