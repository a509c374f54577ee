import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { Datapath, type EndpointDatapathSpec } from './datapath.js';
import type { EventReader } from './event-reader.js';
import { DropReason, EventType, TracePoint } from './event-record.js';
import type { PolicyEntry } from './map-codecs.js';
import { PodLab, sh } from './testing/pod-lab.js';
import { linkIfindex } from './tc-attach.js';
import { EventCollector, needsRoot, uniqueName } from './testing/test-support.js';

// Real traffic between two pods of one node with local delivery by bpf_redirect_peer:
// pod b's ingress policy is applied in pod a's from-container (tail call), and the
// packets enter b's namespace without leaving through b's host veth (its TX counters
// stay still), unlike with localDelivery 'neigh'.
const pid = process.pid;
const name = uniqueName('peer');
const pods = {
  a: { ns: `${name}-a`, ip: '10.204.0.2', ip6: 'fd04::2', host: `lpa${pid}`, id: 51, identity: 5001 },
  b: { ns: `${name}-b`, ip: '10.204.0.3', ip6: 'fd04::3', host: `lpb${pid}`, id: 52, identity: 5002 },
};
const policyB: PolicyEntry[] = [{ direction: 'ingress', identity: pods.a.identity, protocol: 6, port: 8080, deny: false }];

/** Connects from ns to host:port and reads the greeting; resolves 'hi', 'timeout' or 'error:<code>'. */
function tcpExchange(ns: string, host: string, port: number): Promise<string> {
  const script = `const s=require('net').connect({host:process.argv[1],port:+process.argv[2]});let d='';` +
    `const t=setTimeout(()=>{console.log('timeout');process.exit(0)},1500);` +
    `s.on('data',(c)=>{d+=c});s.on('end',()=>{console.log(d);clearTimeout(t)});` +
    `s.on('error',(e)=>{console.log('error:'+e.code);clearTimeout(t)})`;
  return new Promise((resolve, reject) => {
    execFile('ip', ['netns', 'exec', ns, process.execPath, '-e', script, host, String(port)], { timeout: 10000 }, (err, stdout) => {
      if (err) reject(err);
      else resolve(stdout.trim());
    });
  });
}

describe('netns: local delivery with bpf_redirect_peer', needsRoot, () => {
  const pinDir = `/sys/fs/bpf/${name}`;
  let lab: PodLab | undefined;
  let dp: Datapath | undefined;
  let reader: EventReader | undefined;
  let events: EventCollector;
  let server: ChildProcess | undefined;
  const specs: Partial<Record<'a' | 'b', EndpointDatapathSpec>> = {};
  /** Packets sent out of b's host veth (towards pod b) so far. */
  const txToB = (): number => {
    const [link] = JSON.parse(sh('ip', '-n', lab!.node, '-s', '-j', 'link', 'show', pods.b.host)) as Array<{ stats64: { tx: { packets: number } } }>;
    return link.stats64.tx.packets;
  };
  /** Sends n pings from a to b (all must be answered). */
  const pings = (dst: string, n: number): void => {
    sh(...lab!.exec('a', ['ping', '-q', '-c', String(n), '-i', '0.01', '-W', '1', dst]));
  };

  before(async () => {
    Datapath.removePins(pinDir);
    lab = PodLab.create(`${name}-n`, { v4: '10.204.0.1', v6: 'fd04::1' }, pods);
    const script = `const net=require('net');let n=0;for(const port of [8080,8081])` +
      `net.createServer((s)=>{s.on('error',()=>{});s.end('hi')}).listen(port,'::',()=>{if(++n===2)console.log('listening')})`;
    const [cmd, ...args] = lab.exec('b', [process.execPath, '-e', script]);
    server = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      server!.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('listening')) resolve(); });
      server!.once('exit', (code) => reject(new Error(`test server exited with ${code}`)));
    });
    dp = await Datapath.open({ pinDir, ctGcIntervalMs: 0, localDelivery: 'peer' });
    for (const k of ['a', 'b'] as const) {
      const p = pods[k];
      dp.ipcacheUpsert(p.ip, p.identity);
      dp.ipcacheUpsert(p.ip6, p.identity);
      specs[k] = {
        id: p.id, identity: p.identity, hostIfname: p.host, hostIfindex: await linkIfindex({ ifname: p.host, netns: lab.nodeNetns }),
        ipv4: p.ip, ipv6: p.ip6, netns: lab.nodeNetns, ingressEnforced: k === 'b', egressEnforced: false,
      };
    }
    reader = dp.events({ pollMs: 50 });
    events = new EventCollector(reader);
    await reader.ready();
    await dp.attachEndpoint(specs.a!, []);
    await dp.attachEndpoint(specs.b!, [...policyB, { direction: 'ingress', identity: pods.a.identity, protocol: 1, port: 0, deny: false },
      { direction: 'ingress', identity: pods.a.identity, protocol: 58, port: 0, deny: false }]);
  });

  after(async () => {
    server?.kill('SIGKILL');
    await reader?.close();
    if (dp) {
      for (const s of Object.values(specs)) await dp.detachEndpoint(s).catch(() => undefined);
      dp.close();
    }
    lab?.destroy();
    Datapath.removePins(pinDir);
  });

  test('attached endpoints are registered for local senders', () => {
    for (const k of ['a', 'b'] as const) assert.equal(dp!.localDeliveryProgramId(pods[k].id), dp!.pinnedProgram(pods[k].id, 'to-container-local')?.id);
  });

  test('IPv4 and IPv6 TCP to the allowed port: request and reply pass; to-endpoint events come from b\'s side', async () => {
    events.clear();
    assert.equal(await tcpExchange(pods.a.ns, pods.b.ip, 8080), 'hi');
    assert.equal(await tcpExchange(pods.a.ns, pods.b.ip6, 8080), 'hi');
    const to = await events.waitFor('to-endpoint trace at b', (r) => r.type === EventType.trace && r.source === pods.b.id && r.subType === TracePoint.toEndpoint);
    assert.equal(to.srcIdentity, pods.a.identity);
    assert.equal(to.ifindex, specs.b!.hostIfindex);
    const back = await events.waitFor('reply at a', (r) => r.type === EventType.trace && r.source === pods.a.id && r.subType === TracePoint.toEndpoint);
    assert.equal(back.isReply, true);
    await events.waitFor('IPv6 to-endpoint trace at b', (r) => r.type === EventType.trace && r.source === pods.b.id && r.ipv6);
  });

  test('a port b\'s ingress policy does not allow is dropped and reported by b', async () => {
    events.clear();
    assert.equal(await tcpExchange(pods.a.ns, pods.b.ip, 8081), 'timeout');
    const drop = await events.waitFor('drop at b', (r) => r.type === EventType.drop && r.source === pods.b.id);
    assert.equal(drop.subType, DropReason.policy);
    assert.equal(drop.srcIdentity, pods.a.identity);
    assert.equal(drop.egress, false);
  });

  test('packets to b skip b\'s host veth with peer delivery and cross it with neigh delivery', async () => {
    pings(pods.b.ip, 3); // neighbours resolved
    pings(pods.b.ip6, 3);
    let before = txToB();
    pings(pods.b.ip, 40);
    pings(pods.b.ip6, 40);
    assert.ok(txToB() - before < 10, `peer: ${txToB() - before} packets left through ${pods.b.host}`);
    const neigh = await Datapath.open({ pinDir, ctGcIntervalMs: 0, localDelivery: 'neigh' });
    try {
      assert.deepEqual(await neigh.attachEndpoint(specs.b!, policyB.concat([{ direction: 'ingress', identity: pods.a.identity, protocol: 1, port: 0, deny: false }])), { reattached: false });
      assert.equal(neigh.localDeliveryProgramId(pods.b.id), undefined);
      before = txToB();
      pings(pods.b.ip, 40);
      assert.ok(txToB() - before >= 40, `neigh: ${txToB() - before} packets left through ${pods.b.host}`);
      events.clear();
      assert.equal(await tcpExchange(pods.a.ns, pods.b.ip, 8081), 'timeout', 'b\'s to-container enforces the same policy');
      await events.waitFor('drop at b', (r) => r.type === EventType.drop && r.source === pods.b.id);
    } finally {
      neigh.close();
    }
    assert.deepEqual(await dp!.attachEndpoint(specs.b!, policyB), { reattached: false });
    assert.ok(dp!.localDeliveryProgramId(pods.b.id));
    assert.equal(await tcpExchange(pods.a.ns, pods.b.ip, 8080), 'hi');
  });
});
