import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Datapath, type EndpointDatapathSpec } from './datapath.js';
import type { EventReader } from './event-reader.js';
import { DropReason, EventType } from './event-record.js';
import type { PolicyEntry } from './map-codecs.js';
import { linkIfindex, tcAttachedProgramId } from './tc-attach.js';
import { EventCollector, needsRoot, uniqueName } from './testing/test-support.js';
import { tcpConnect } from './testing/netns-connect.js';

// Lab as in docs/CONTRACTS.md "Nodes in the lab": a node namespace, two pod namespaces
// wired to it by veth pairs, proxy_arp and /32 routes on the node side.
const pid = process.pid;
const NODE = `${uniqueName('netns')}-n`;
const ROUTER = '10.201.0.1';
const pods = {
  a: { ns: `${uniqueName('netns')}-a`, ip: '10.201.0.2', host: `lxa${pid}`, id: 11, identity: 1001 },
  b: { ns: `${uniqueName('netns')}-b`, ip: '10.201.0.3', host: `lxb${pid}`, id: 12, identity: 1002 },
};
const nodeNetns = `/run/netns/${NODE}`;

function sh(...argv: string[]): void {
  execFileSync(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Connects from pod a to host:port; resolves 'connected', 'timeout' or 'error:<code>'. */

function ping(ns: string, ip: string): boolean {
  return spawnSync('ip', ['netns', 'exec', ns, 'ping', '-c', '1', '-W', '1', ip], { stdio: 'ignore' }).status === 0;
}

describe('netns: programs attached via the Datapath API enforce policy on real traffic', needsRoot, () => {
  const pinDir = `/sys/fs/bpf/${uniqueName('netns')}`;
  let dp: Datapath | undefined;
  let reader: EventReader | undefined;
  let events: EventCollector;
  let server: ChildProcess | undefined;
  const specs: Record<'a' | 'b', EndpointDatapathSpec> = {} as never;
  const policyB: PolicyEntry[] = [{ direction: 'ingress', identity: pods.a.identity, protocol: 6, port: 8080, deny: false }];

  before(async () => {
    for (const ns of [NODE, pods.a.ns, pods.b.ns]) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    Datapath.removePins(pinDir);
    sh('ip', 'netns', 'add', NODE);
    sh('ip', '-n', NODE, 'link', 'set', 'lo', 'up');
    sh('ip', '-n', NODE, 'addr', 'add', `${ROUTER}/32`, 'dev', 'lo');
    sh('ip', 'netns', 'exec', NODE, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
    for (const p of Object.values(pods)) {
      sh('ip', 'netns', 'add', p.ns);
      sh('ip', '-n', NODE, 'link', 'add', p.host, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', p.ns);
      sh('ip', '-n', NODE, 'link', 'set', p.host, 'up');
      sh('ip', 'netns', 'exec', NODE, 'sysctl', '-qw', `net.ipv4.conf.${p.host}.proxy_arp=1`);
      sh('ip', '-n', NODE, 'route', 'add', `${p.ip}/32`, 'dev', p.host);
      sh('ip', '-n', p.ns, 'link', 'set', 'lo', 'up');
      sh('ip', '-n', p.ns, 'addr', 'add', `${p.ip}/32`, 'dev', 'eth0');
      sh('ip', '-n', p.ns, 'link', 'set', 'eth0', 'up');
      sh('ip', '-n', p.ns, 'route', 'add', ROUTER, 'dev', 'eth0', 'scope', 'link');
      sh('ip', '-n', p.ns, 'route', 'add', 'default', 'via', ROUTER);
    }
    const script = `const net=require('net');let n=0;for(const port of [8080,8081])` +
      `net.createServer((s)=>{s.on('error',()=>{});s.end('hi')}).listen(port,'0.0.0.0',()=>{if(++n===2)console.log('listening')})`;
    server = spawn('ip', ['netns', 'exec', pods.b.ns, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      server!.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('listening')) resolve(); });
      server!.once('exit', (code) => reject(new Error(`test server exited with ${code}`)));
    });

    dp = await Datapath.open({ pinDir });
    for (const [k, p] of Object.entries(pods) as Array<['a' | 'b', (typeof pods)['a']]>) {
      dp.ipcacheUpsert(`${p.ip}/32`, p.identity);
      specs[k] = {
        id: p.id, identity: p.identity, hostIfname: p.host, hostIfindex: await linkIfindex({ ifname: p.host, netns: nodeNetns }),
        ipv4: p.ip, netns: nodeNetns, ingressEnforced: true, egressEnforced: k === 'b',
      };
    }
    reader = dp.events({ pollMs: 50 });
    events = new EventCollector(reader);
    await reader.ready();
  });

  after(async () => {
    server?.kill('SIGKILL');
    await reader?.close();
    if (dp) {
      for (const s of Object.values(specs)) await dp.detachEndpoint(s).catch(() => undefined);
      dp.close();
    }
    for (const ns of [NODE, pods.a.ns, pods.b.ns]) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    Datapath.removePins(pinDir);
  });

  test('attach puts from-container on tc ingress and to-container on tc egress of the host veth', async () => {
    await dp!.attachEndpoint(specs.a, []);
    await dp!.attachEndpoint(specs.b, policyB);
    for (const s of Object.values(specs)) {
      assert.ok(await tcAttachedProgramId({ ifname: s.hostIfname, netns: nodeNetns }, 'ingress'));
      assert.ok(await tcAttachedProgramId({ ifname: s.hostIfname, netns: nodeNetns }, 'egress'));
      assert.ok(existsSync(dp!.pinPath(s.id, 'from-container')) && existsSync(dp!.pinPath(s.id, 'to-container')));
      assert.ok(!existsSync(`${dp!.pinPath(s.id, 'from-container')}-new`));
    }
    assert.deepEqual(dp!.endpointsMapList().map((e) => e.endpointId).sort(), [11, 12]);
  });

  test('TCP to the allowed port connects; another port is dropped and reported', async () => {
    events.clear();
    assert.equal(await tcpConnect(pods.a.ns, pods.b.ip, 8080), 'connected');
    assert.equal(await tcpConnect(pods.a.ns, pods.b.ip, 8081), 'timeout');
    const drop = await events.waitFor('policy drop at b', (r) => r.type === EventType.drop && r.source === pods.b.id && !r.egress);
    assert.equal(drop.subType, DropReason.policy);
    assert.equal(drop.srcIdentity, pods.a.identity);
    assert.equal(drop.dstIdentity, pods.b.identity);
    assert.equal(drop.egress, false);
    assert.equal(drop.packet.readUInt16BE(14 + 20 + 2), 8081, 'captured packet is the SYN to 8081');
    const fwd = await events.waitFor('trace from a', (r) => r.type === EventType.trace && r.source === pods.a.id && !r.isReply);
    assert.equal(fwd.dstEndpoint, pods.b.id, 'a sees b as a local endpoint');
  });

  test('ping is dropped until the policy allows ICMP from a', () => {
    assert.equal(ping(pods.a.ns, pods.b.ip), false);
    dp!.updatePolicy(pods.b.id, [...policyB, { direction: 'ingress', identity: pods.a.identity, protocol: 1, port: 0, deny: false }]);
    assert.equal(ping(pods.a.ns, pods.b.ip), true);
  });

  test('re-attaching a current endpoint keeps its programs; a new identity replaces them', async () => {
    const target = { ifname: pods.b.host, netns: nodeNetns };
    const before = await tcAttachedProgramId(target, 'egress');
    assert.deepEqual(await dp!.attachEndpoint(specs.b, policyB), { reattached: false });
    assert.equal(await tcAttachedProgramId(target, 'egress'), before, 'same program still attached');
    assert.equal(ping(pods.a.ns, pods.b.ip), false, 'the re-attach policy has no ICMP entry');
    assert.deepEqual(await dp!.attachEndpoint({ ...specs.b, identity: pods.b.identity + 1 }, policyB), { reattached: true });
    const afterId = await tcAttachedProgramId(target, 'egress');
    assert.notEqual(afterId, before);
    assert.equal(dp!.pinnedProgram(pods.b.id, 'to-container')?.id, afterId);
    assert.equal(await tcpConnect(pods.a.ns, pods.b.ip, 8080), 'connected');
    await dp!.attachEndpoint(specs.b, policyB);
  });

  test('switching enforcement off and on needs no reload', async () => {
    const target = { ifname: pods.b.host, netns: nodeNetns };
    const before = await tcAttachedProgramId(target, 'egress');
    assert.deepEqual(await dp!.attachEndpoint({ ...specs.b, ingressEnforced: false }, []), { reattached: false });
    assert.deepEqual(dp!.enforcement(pods.b.id), { ingress: false, egress: true });
    assert.equal(await tcpConnect(pods.a.ns, pods.b.ip, 8081), 'connected', 'not enforced: any port');
    await dp!.attachEndpoint(specs.b, policyB);
    assert.equal(await tcpConnect(pods.a.ns, pods.b.ip, 8081), 'timeout');
    assert.equal(await tcAttachedProgramId(target, 'egress'), before);
  });

  test('a failed attach (missing interface) leaves nothing behind', async () => {
    const ghost = { ...specs.a, id: 99, hostIfname: `lxz${pid}` };
    await assert.rejects(dp!.attachEndpoint(ghost, []), /Cannot find device|exited/);
    assert.ok(!existsSync(`${pinDir}/ep99`));
  });

  test('detach removes filters and pins, is idempotent, and traffic flows unfiltered', async () => {
    for (const s of Object.values(specs)) {
      await dp!.detachEndpoint(s);
      await dp!.detachEndpoint(s);
      assert.equal(await tcAttachedProgramId({ ifname: s.hostIfname, netns: nodeNetns }, 'ingress'), undefined);
      assert.ok(!existsSync(`${pinDir}/ep${s.id}`));
    }
    assert.deepEqual(dp!.endpointsMapList(), []);
    assert.equal(await tcpConnect(pods.a.ns, pods.b.ip, 8081), 'connected');
  });
});
