// The agent's services across a restart, on the real kernel with a real etcd: the socket
// load balancer's maps and cgroup links are pinned, so a service keeps serving while no
// agent runs; a service deleted and a backend removed while the agent was down (its
// services.json lost, so only the pins remember them) are gone from the maps once the
// restarted agent has synced with the kvstore.
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cgroup2Root, Datapath, SocketLb } from '@cilium-ts/bpf';
import { KvStore, ServiceStore } from '@cilium-ts/kvstore';
import { startTestEtcd, waitFor, type TestEtcd } from '@cilium-ts/kvstore/testing';
import { validateService, type ServiceSpec } from '@cilium-ts/loadbalancer';
import { ServiceManager } from './service-manager.js';

const skip = process.getuid?.() !== 0 && process.env.CI !== 'true' ? 'needs root' : false;
const name = `ctsrst${process.pid % 100000}`;
const pinDir = `/sys/fs/bpf/${name}`;
const backends = ['10.246.0.1', '10.246.0.2', '10.246.0.3'];

// `n` TCP connections from inside the test cgroup and netns; each prints the backend's greeting or the error code.
const clientScript = `const [host,n]=process.argv.slice(1);const net=require('net');const out=[];let i=0;
const next=()=>{if(i++>=+n){console.log(JSON.stringify(out));return}const c=net.connect({host,port:80});let d='';
const t=setTimeout(()=>{out.push('timeout');c.destroy();next()},2000);c.on('data',(x)=>{d+=x});
c.on('end',()=>{clearTimeout(t);out.push(d);next()});c.on('error',(e)=>{clearTimeout(t);out.push(e.code);next()})};next()`;

describe('services across an agent restart (real kernel, real etcd)', { skip }, () => {
  const cgroup = skip ? '' : join(cgroup2Root(), name);
  let etcd: TestEtcd | undefined;
  let kv: KvStore | undefined;
  let dp: Datapath | undefined;
  let servers: ChildProcess | undefined;
  let dir = '';
  const closers: Array<() => unknown> = [];

  const reach = (vip: string, n: number): Promise<string[]> =>
    new Promise((resolve, reject) => {
      const argv = ['sh', '-c', `echo $$ > ${cgroup}/cgroup.procs && exec ip netns exec ${name} "$@"`, 'client', process.execPath, '-e', clientScript, vip, String(n)];
      execFile(argv[0]!, argv.slice(1), { timeout: 60_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}: ${stderr}`)) : resolve(JSON.parse(stdout.trim()) as string[])));
    });

  const manager = (lb: SocketLb | undefined): ServiceManager =>
    new ServiceManager({ store: new ServiceStore(kv!, 'c1'), datapath: lb, stateFile: join(dir, 'services.json'), podCidrs: () => [], maxBackends: 16, log: () => undefined });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cts-svc-restart-'));
    Datapath.removePins(pinDir);
    execFileSync('ip', ['netns', 'add', name]);
    for (const b of backends) execFileSync('ip', ['-n', name, 'addr', 'add', `${b}/32`, 'dev', 'lo']);
    execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    mkdirSync(cgroup);
    dp = await Datapath.open({ pinDir });
    const serverScript = `const net=require('net');let n=0;for(const ip of ${JSON.stringify(backends)})net.createServer((s)=>{s.on('error',()=>{});s.end(ip)}).listen(8080,ip,()=>{if(++n===${backends.length})console.log('listening')})`;
    servers = spawn('ip', ['netns', 'exec', name, process.execPath, '-e', serverScript], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      servers!.stdout!.on('data', (d: Buffer) => d.toString().includes('listening') && resolve());
      servers!.on('exit', (code) => reject(new Error(`servers exited ${code}`)));
    });
    etcd = await startTestEtcd('svc-restart');
    kv = await KvStore.connect({ endpoints: [etcd.endpoint], prefix: 'cts', healthIntervalMs: 200 });
  });

  after(async () => {
    for (const c of closers.reverse()) await c();
    servers?.kill('SIGKILL');
    await kv?.close();
    await etcd?.stop();
    dp?.close();
    Datapath.removePins(pinDir);
    try {
      execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
    } catch {
      // already gone
    }
    if (cgroup && existsSync(cgroup)) rmdirSync(cgroup);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('an unchanged service serves during the restart; what was deleted while the agent was down is gone after the resync', async () => {
    const spec = (id: number, vip: string, ips: string[]): ServiceSpec => ({ id, frontend: { ip: vip, port: 80, protocol: 'TCP' }, backends: ips.map((ip) => ({ ip, port: 8080 })) });
    // The first agent: three services, one of them (3) also through another node later.
    let lb = SocketLb.open({ pinDir, algorithm: 'maglev', maglevTableSize: 251 });
    lb.attachCgroup(cgroup);
    let mgr = manager(lb);
    mgr.start();
    await waitFor('first agent synced', () => mgr.isSynced);
    await mgr.update(spec(1, '10.96.1.1', backends.slice(0, 2)));
    await mgr.update(spec(2, '10.96.1.2', [backends[2]!]));
    await mgr.update(spec(3, '10.96.1.3', backends));
    assert.deepEqual([...new Set(await reach('10.96.1.1', 30))].sort(), backends.slice(0, 2));
    await mgr.close();
    lb.close();

    // The agent is down: the pinned maps and links keep serving.
    assert.deepEqual((await reach('10.96.1.1', 4)).filter((r) => !backends.includes(r)), [], 'service 1 serves while no agent runs');
    assert.deepEqual(await reach('10.96.1.2', 1), [backends[2]]);
    // Meanwhile, through another node: service 2 deleted, backend 10.246.0.1 removed from service 3.
    const store = new ServiceStore(kv!, 'c1');
    await store.delete(2);
    await store.upsert(validateService(spec(3, '10.96.1.3', backends.slice(1)), { podCidrs: [], maxBackends: 16 }));
    // ... and the node lost its state file (only the pins remember service 2 and the old backends).
    rmSync(join(dir, 'services.json'));
    await store.upsert(validateService(spec(1, '10.96.1.1', backends.slice(0, 2)), { podCidrs: [], maxBackends: 16 }));

    // The restarted agent.
    lb = SocketLb.open({ pinDir, algorithm: 'maglev', maglevTableSize: 251 });
    closers.push(() => lb.close());
    lb.attachCgroup(cgroup);
    mgr = manager(lb);
    closers.push(() => mgr.close());
    assert.equal(await mgr.restore(), 0, 'no state file');
    mgr.start();
    await waitFor('restarted agent synced', () => mgr.isSynced);
    const dump = lb.list();
    assert.deepEqual([...new Set(dump.services.map((s) => s.revNatId))].sort(), [1, 3], 'service 2 is gone from the maps');
    assert.deepEqual(dump.revNat.map((r) => r.id), [1, 3]);
    assert.deepEqual(dump.backends.map((b) => b.address.ip).sort(), backends, 'every backend is still used by service 1 or 3');
    assert.deepEqual(lb.maglevTable(2), undefined);
    assert.deepEqual(new Set(lb.maglevTable(3)), new Set(dump.backends.filter((b) => b.address.ip !== backends[0]).map((b) => b.id)), "service 3's table has its two backends");
    assert.deepEqual((await reach('10.96.1.2', 1)), ['ENETUNREACH'], 'the deleted service no longer translates');
    assert.deepEqual([...new Set(await reach('10.96.1.3', 30))].sort(), backends.slice(1), 'service 3 reaches only its remaining backends');

    // Service 1 deleted too: its backend 10.246.0.1 is used by nothing and goes from the backends map.
    await mgr.delete(1);
    assert.deepEqual(lb.list().backends.map((b) => b.address.ip).sort(), backends.slice(1));
  });
});
