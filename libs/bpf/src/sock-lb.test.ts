// East-west load balancing at the socket on the real kernel: a "pod" network namespace
// whose client processes run in a cgroup v2 made for the test (never the root), TCP and
// UDP servers on three backend addresses, a ClusterIP in front of them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, type ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, openSync } from 'node:fs';
import type { Service } from '@cilium-ts/loadbalancer';
import { Datapath } from './datapath.js';
import type { EventReader } from './event-reader.js';
import { EventType } from './event-record.js';
import { cgroup2Root } from './cgroup2.js';
import { SocketLb } from './sock-lb.js';
import { netnsCookie } from './netns-cookie.js';
import { decodeTraceSockRecord, TRACE_SOCK_TYPE, XlatePoint, type TraceSockRecord } from './trace-sock-record.js';
import { EventCollector, needsRoot, createSockLbFixture, removeSockLbFixture, spawnInNetns, uniqueName, untilListening } from './testing/test-support.js';

const name = uniqueName('socklb');
const ns = name;
/** The test's own cgroup v2 directory (wherever this machine mounts cgroup v2). */
const cgroupRoot = needsRoot.skip === false ? cgroup2Root() : '/sys/fs/cgroup';
const cgroup = `${cgroupRoot}/${name}`;
const pinDir = `/sys/fs/bpf/${name}`;
const backends = ['10.244.1.1', '10.244.1.2', '10.244.1.3'];
const vip = '10.96.0.10';
const vip6 = 'fd00:96::10';
const backend6 = 'fd00:244::1';

const svc = (id: number, ip: string, port: number, protocol: 'TCP' | 'UDP', bes: Array<{ ip: string; port: number; state?: Service['backends'][number]['state'] }>): Service => ({
  id,
  frontend: { ip, port, protocol },
  type: 'ClusterIP',
  trafficPolicy: 'Cluster',
  backends: bes.map((b) => ({ ip: b.ip, port: b.port, weight: 1, state: b.state ?? 'active' })),
});

// Client (in the netns; in the test's cgroup when inCgroup): `n` TCP connections to
// host:port, each reading the backend's greeting and its peer address as getpeername()
// reports it, or one UDP exchange (reply text and the reply's source address).
const clientScript = `const [mode,host,port,n]=process.argv.slice(1);const net=require('net');const out=[];
if(mode==='udp'){const s=require('dgram').createSocket(host.includes(':')?'udp6':'udp4');const t=setTimeout(()=>{console.log(JSON.stringify({error:'timeout'}));process.exit(0)},2000);
s.on('message',(m,r)=>{clearTimeout(t);console.log(JSON.stringify({reply:String(m),from:r.address+':'+r.port}));s.close()});
s.send('ping',+port,host,(e)=>{if(e){console.log(JSON.stringify({error:e.code}));process.exit(0)}})}
else{let i=0;const next=()=>{if(i++>=+n){console.log(JSON.stringify(out));return}
const c=net.connect({host,port:+port});let d='';const t=setTimeout(()=>{out.push({error:'timeout'});c.destroy();next()},2000);
c.on('connect',()=>{c.peer=c.remoteAddress+':'+c.remotePort});c.on('data',(x)=>{d+=x});
c.on('end',()=>{clearTimeout(t);out.push({backend:d,peer:c.peer});next()});
c.on('error',(e)=>{clearTimeout(t);out.push({error:e.code});next()})};next()}`;

function client(args: string[], inCgroup = true): Promise<unknown> {
  const cmd = inCgroup
    ? ['sh', '-c', `echo $$ > ${cgroup}/cgroup.procs && exec ip netns exec ${ns} "$@"`, 'client', process.execPath, '-e', clientScript, ...args]
    : ['ip', 'netns', 'exec', ns, process.execPath, '-e', clientScript, ...args];
  return new Promise((resolve, reject) => {
    execFile(cmd[0]!, cmd.slice(1), { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}: ${stderr}`));
      else resolve(JSON.parse(stdout.trim()));
    });
  });
}

type Conn = { backend?: string; peer?: string; error?: string };

describe('socket load balancing (cgroup connect/sendmsg/recvmsg/getpeername)', needsRoot, () => {
  let dp: Datapath | undefined;
  let lb: SocketLb | undefined;
  let reader: EventReader | undefined;
  let events: EventCollector;
  let servers: ChildProcess | undefined;

  before(async () => {
    dp = await createSockLbFixture({ pinDir, ns, cgroup, addresses: [...backends, backend6] });
    reader = dp.events();
    events = new EventCollector(reader);
    lb = SocketLb.open({ pinDir });
    lb.attachCgroup(cgroup);
    // Servers: outside the cgroup (backends are not load-balanced clients).
    const serverScript = `const net=require('net'),dgram=require('dgram');let n=0;const up=()=>{if(++n===${backends.length * 2 + 1})console.log('listening')};
for(const ip of ${JSON.stringify(backends)}){net.createServer((s)=>{s.on('error',()=>{});s.end(ip)}).listen(8080,ip,up);
const u=dgram.createSocket('udp4');u.on('message',(m,r)=>u.send(ip,r.port,r.address));u.bind(5353,ip,up)}
net.createServer((s)=>{s.on('error',()=>{});s.end('${backend6}')}).listen(8080,'${backend6}',up)`;
    servers = spawnInNetns(ns, serverScript);
    await untilListening(servers);
  });

  after(async () => {
    await reader?.close();
    removeSockLbFixture({ servers, lb, dp, pinDir, ns, cgroup, removePins: (d) => Datapath.removePins(d) });
  });

  test('a ClusterIP spreads connections over its backends; getpeername shows the VIP; terminating backends get no new connections', async () => {
    lb!.upsertService(svc(1, vip, 80, 'TCP', backends.map((ip) => ({ ip, port: 8080 }))));
    const first = (await client(['tcp', vip, '80', '45'])) as Conn[];
    assert.deepEqual(first.filter((c) => c.error), [], 'every connection reached a backend');
    assert.deepEqual([...new Set(first.map((c) => c.backend))].sort(), backends, 'all backends got traffic');
    assert.ok(first.every((c) => c.peer === `${vip}:80`), `getpeername shows the service: ${first[0]?.peer}`);

    lb!.upsertService(svc(1, vip, 80, 'TCP', backends.map((ip, i) => ({ ip, port: 8080, state: i === 1 ? 'terminating' : 'active' }))));
    const after = (await client(['tcp', vip, '80', '30'])) as Conn[];
    assert.deepEqual(after.filter((c) => c.error), []);
    assert.deepEqual([...new Set(after.map((c) => c.backend))].sort(), [backends[0], backends[2]], 'the terminating backend got none');
    const dump = lb!.list();
    assert.equal(dump.services.find((s) => s.slot === 0 && s.revNatId === 1)?.count, 2);
    assert.equal(dump.backends.find((b) => b.address.ip === backends[1])?.state, 'terminating');
  });

  test('UDP: sendmsg goes to a backend, the reply comes from the VIP (recvmsg)', async () => {
    lb!.upsertService(svc(2, vip, 53, 'UDP', [{ ip: backends[2]!, port: 5353 }]));
    const r = (await client(['udp', vip, '53'])) as { reply?: string; from?: string; error?: string };
    assert.equal(r.reply, backends[2]);
    assert.equal(r.from, `${vip}:53`);
  });

  test('IPv6 frontend to an IPv6 backend', async () => {
    lb!.upsertService(svc(3, vip6, 80, 'TCP', [{ ip: backend6, port: 8080 }]));
    const r = (await client(['tcp', vip6, '80', '2'])) as Conn[];
    assert.deepEqual(r.map((c) => c.backend), [backend6, backend6]);
    assert.equal(r[0]!.peer, `${vip6}:80`);
  });

  test('a service without backends refuses connect() (ECONNREFUSED) with a drop record: Service backend not found', async () => {
    lb!.upsertService(svc(4, '10.96.0.44', 80, 'TCP', []));
    events.clear();
    const r = (await client(['tcp', '10.96.0.44', '80', '1'])) as Conn[];
    assert.deepEqual(r, [{ error: 'ECONNREFUSED' }]);
    await events.waitFor('DROP_NO_SERVICE', (e) => e.type === EventType.drop && e.subType === 158);
    // Deleted: the address is not a service any more (no route in the netns).
    lb!.deleteService(4);
    const gone = (await client(['tcp', '10.96.0.44', '80', '1'])) as Conn[];
    assert.deepEqual(gone, [{ error: 'ENETUNREACH' }]);
  });

  test('trace sock records: pre- and post-translation (forward on connect, reverse on getpeername), naming the endpoint of the socket\'s netns', async () => {
    const socks: TraceSockRecord[] = [];
    const onEvent = (b: Buffer) => {
      if (b[0] === TRACE_SOCK_TYPE) socks.push(decodeTraceSockRecord(b));
    };
    reader!.on('event', onEvent);
    try {
      const cookie = netnsCookie(`/var/run/netns/${ns}`);
      assert.notEqual(cookie, netnsCookie(), 'the pod namespace has its own cookie');
      lb!.setNetnsEndpoint(cookie, 77);
      lb!.upsertService(svc(5, '10.96.0.55', 80, 'TCP', [{ ip: backends[0]!, port: 8080 }]));
      events.clear();
      const r = (await client(['tcp', '10.96.0.55', '80', '1'])) as Conn[];
      assert.deepEqual(r, [{ backend: backends[0], peer: '10.96.0.55:80' }]);
      await events.waitFor('post-xlate-rev trace sock record', (e) => e.type === TRACE_SOCK_TYPE && e.subType === XlatePoint.postDirectionRev);
      const mine = socks.filter((x) => x.revNatIndex === 5);
      const at = (p: number) => mine.find((x) => x.xlatePoint === p);
      assert.deepEqual(
        [at(XlatePoint.preDirectionFwd), at(XlatePoint.postDirectionFwd), at(XlatePoint.preDirectionRev), at(XlatePoint.postDirectionRev)].map((x) => x && `${x.address}:${x.port}/${x.protocol} ep=${x.endpointId}`),
        ['10.96.0.55:80/6 ep=77', `${backends[0]}:8080/6 ep=77`, `${backends[0]}:8080/6 ep=77`, '10.96.0.55:80/6 ep=77'],
      );
      assert.ok(mine.every((x) => x.socketCookie !== 0n && !x.ipv6));
      // An unknown namespace: the records carry endpoint 0.
      lb!.setNetnsEndpoint(cookie, 0);
      socks.length = 0;
      await client(['tcp', '10.96.0.55', '80', '1']);
      await events.waitFor('post-xlate-fwd', (e) => e.type === TRACE_SOCK_TYPE && e.subType === XlatePoint.postDirectionFwd);
      assert.ok(socks.length > 0 && socks.every((x) => x.endpointId === 0));
    } finally {
      reader!.off('event', onEvent);
      lb!.deleteService(5);
    }
  });

  test('processes outside the cgroup are not translated; the root cgroup is refused', async () => {
    const r = (await client(['tcp', vip, '80', '1'], false)) as Conn[];
    assert.deepEqual(r, [{ error: 'ENETUNREACH' }]);
    assert.throws(() => lb!.attachCgroup(cgroupRoot), /is the root of a cgroup hierarchy/);
  });
});

// SocketLb owns the map fds it uses (opened from the pins), never the object's: closing an
// fd that libbpf also closes hands a number to whatever opens next, and libbpf's close then
// takes it away (a child process's stdout pipe, in CI: the test process never exited).
describe('socket load balancing: fd ownership', needsRoot, () => {
  test('close() leaves an fd opened after open() alone', () => {
    const dir = `/sys/fs/bpf/${uniqueName('socklbfd')}`;
    const lb = SocketLb.open({ pinDir: dir });
    const fd = openSync('/dev/null', 'r');
    try {
      lb.close();
      assert.doesNotThrow(() => fstatSync(fd), 'SocketLb.close() closed an fd it does not own');
    } finally {
      try {
        closeSync(fd);
      } catch {
        // closed by the bug under test
      }
      Datapath.removePins(dir);
    }
  });
});
