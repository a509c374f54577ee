// Policy applies to the backend after socket translation: pod a may reach pod b on 8080
// but not 8081; through service VIPs in front of each port, a reaches b:8080 and is
// dropped by b's ingress policy on 8081, with a's identity in the drop record.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmdirSync } from 'node:fs';
import { Datapath, type EndpointDatapathSpec } from './datapath.js';
import type { EventReader } from './event-reader.js';
import { DropReason, EventType } from './event-record.js';
import { PodLab } from './testing/pod-lab.js';
import { cgroup2Root } from './cgroup2.js';
import { SocketLb } from './sock-lb.js';
import { linkIfindex } from './tc-attach.js';
import { EventCollector, needsRoot, uniqueName } from './testing/test-support.js';

const pid = process.pid;
const name = uniqueName('socklbpol');
/** The test's own cgroup v2 directory (wherever this machine mounts cgroup v2). */
const cgroupRoot = needsRoot.skip === false ? cgroup2Root() : '/sys/fs/cgroup';
const cgroup = `${cgroupRoot}/${name}`;
const pinDir = `/sys/fs/bpf/${name}`;
const pods = {
  a: { ns: `${name}-a`, ip: '10.205.0.2', ip6: 'fd05::2', host: `sla${pid}`, id: 61, identity: 6001 },
  b: { ns: `${name}-b`, ip: '10.205.0.3', ip6: 'fd05::3', host: `slb${pid}`, id: 62, identity: 6002 },
};
const vip = '10.96.5.1';

/** From pod a, inside the test cgroup: connect to host:port and read the greeting ('hi', 'timeout' or 'error:<code>'). */
function fromA(host: string, port: number): Promise<string> {
  const script = `const s=require('net').connect({host:process.argv[1],port:+process.argv[2]});let d='';` +
    `const t=setTimeout(()=>{console.log('timeout');process.exit(0)},1500);` +
    `s.on('data',(c)=>{d+=c});s.on('end',()=>{console.log(d);clearTimeout(t)});s.on('error',(e)=>{console.log('error:'+e.code);clearTimeout(t)})`;
  return new Promise((resolve, reject) => {
    execFile('sh', ['-c', `echo $$ > ${cgroup}/cgroup.procs && exec ip netns exec ${pods.a.ns} "$@"`, 'client', process.execPath, '-e', script, host, String(port)], { timeout: 10000 }, (err, stdout) =>
      err ? reject(err) : resolve(stdout.trim()),
    );
  });
}

describe('socket load balancing: policy sees the backend', needsRoot, () => {
  let lab: PodLab | undefined;
  let dp: Datapath | undefined;
  let lb: SocketLb | undefined;
  let reader: EventReader | undefined;
  let events: EventCollector;
  let server: ChildProcess | undefined;
  const specs: EndpointDatapathSpec[] = [];

  before(async () => {
    Datapath.removePins(pinDir);
    lab = PodLab.create(`${name}-n`, { v4: '10.205.0.1', v6: 'fd05::1' }, pods);
    const script = `const net=require('net');let n=0;for(const port of [8080,8081])` +
      `net.createServer((s)=>{s.on('error',()=>{});s.end('hi')}).listen(port,'0.0.0.0',()=>{if(++n===2)console.log('listening')})`;
    const [cmd, ...args] = lab.exec('b', [process.execPath, '-e', script]);
    server = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      server!.stdout!.on('data', (d: Buffer) => d.toString().includes('listening') && resolve());
      server!.once('exit', (code) => reject(new Error(`test server exited with ${code}`)));
    });
    dp = await Datapath.open({ pinDir, ctGcIntervalMs: 0 });
    for (const k of ['a', 'b'] as const) {
      const p = pods[k];
      dp.ipcacheUpsert(p.ip, p.identity);
      specs.push({ id: p.id, identity: p.identity, hostIfname: p.host, hostIfindex: await linkIfindex({ ifname: p.host, netns: lab.nodeNetns }), ipv4: p.ip, ipv6: p.ip6, netns: lab.nodeNetns, ingressEnforced: k === 'b', egressEnforced: false });
    }
    reader = dp.events({ pollMs: 50 });
    events = new EventCollector(reader);
    await reader.ready();
    await dp.attachEndpoint(specs[0]!, []);
    await dp.attachEndpoint(specs[1]!, [{ direction: 'ingress', identity: pods.a.identity, protocol: 6, port: 8080, deny: false }]);
    mkdirSync(cgroup);
    lb = SocketLb.open({ pinDir });
    lb.attachCgroup(cgroup);
    for (const [id, port] of [[1, 8080], [2, 8081]] as const) {
      lb.upsertService({ id, frontend: { ip: vip, port: 80 + id - 1, protocol: 'TCP' }, type: 'ClusterIP', trafficPolicy: 'Cluster', backends: [{ ip: pods.b.ip, port, weight: 1, state: 'active' }] });
    }
  });

  after(async () => {
    server?.kill('SIGKILL');
    await reader?.close();
    if (lb && existsSync(cgroup)) lb.detachCgroup(cgroup);
    lb?.close();
    if (dp) {
      for (const s of specs) await dp.detachEndpoint(s).catch(() => undefined);
      dp.close();
    }
    lab?.destroy();
    Datapath.removePins(pinDir);
    if (existsSync(cgroup)) rmdirSync(cgroup);
  });

  test('allowed backend port through the VIP passes; the denied one is dropped by the backend\'s policy', async () => {
    assert.equal(await fromA(vip, 80), 'hi');
    events.clear();
    assert.equal(await fromA(vip, 81), 'timeout');
    const drop = await events.waitFor('policy drop at b', (r) => r.type === EventType.drop && r.source === pods.b.id);
    assert.equal(drop.subType, DropReason.policy);
    assert.equal(drop.srcIdentity, pods.a.identity);
  });
});
