// NodePort in SNAT mode on the real kernel: a fabric namespace (bridge) joining a client
// and two node namespaces, each node with one pod; from-netdev / to-netdev on node 1's
// fabric device. The client reaches node 1's address:30080 and gets the local pod (which
// sees the client's address) and the other node's pod (which sees node 1's address:
// SNAT); an established connection keeps its backend when that backend stops taking new
// connections; a ClusterIP is not reachable from the fabric.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import type { Service } from '@cilium-ts/loadbalancer';
import { Datapath } from './datapath.js';
import { NodePortLb } from './nodeport.js';
import { PodLab } from './testing/pod-lab.js';
import { SocketLb } from './sock-lb.js';
import { tcAttachedProgramId, tcDetach } from './tc-attach.js';
import { needsRoot, uniqueName } from './testing/test-support.js';

const name = uniqueName('np');
const fabric = `${name}-f`;
const clientNs = `${name}-c`;
const pinDir = `/sys/fs/bpf/${name}`;
const node1Ip = '192.168.77.1';
const node2Ip = '192.168.77.2';
const clientIp = '192.168.77.100';
const pod1 = '10.244.1.10';
const pod2 = '10.244.2.10';

const nodePort = (backends: Array<{ ip: string; state?: Service['backends'][number]['state'] }>): Service => ({
  id: 1,
  frontend: { ip: '0.0.0.0', port: 30080, protocol: 'TCP' },
  type: 'NodePort',
  trafficPolicy: 'Cluster',
  backends: backends.map((b) => ({ ip: b.ip, port: 8080, weight: 1, state: b.state ?? 'active' })),
});

// Backend: greets with its name and the peer address it sees, then echoes its name per chunk.
const serverScript = `const n=process.argv[1];require('net').createServer(s=>{s.write(n+' '+s.remoteAddress+'\\n');s.on('data',()=>s.write(n+'\\n'));s.on('error',()=>{})}).listen(8080,'0.0.0.0',()=>console.log('ready'))`;

// Client: n connections to host:port, each reading the greeting (or the error).
const clientScript = `const [host,port,n]=process.argv.slice(1);const out=[];let i=0;const next=()=>{if(i++>=+n){console.log(JSON.stringify(out));return}
const c=require('net').connect({host,port:+port});const t=setTimeout(()=>{out.push('timeout');c.destroy();next()},2000);
c.once('data',(d)=>{clearTimeout(t);out.push(String(d).trim());c.destroy();next()});c.on('error',(e)=>{clearTimeout(t);out.push(e.code);next()})};next()`;

const ipn = (ns: string, ...a: string[]): void => void execFileSync('ip', ['-n', ns, ...a]);

function clientRun(port: number, n: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile('ip', ['netns', 'exec', clientNs, process.execPath, '-e', clientScript, node1Ip, String(port), String(n)], { timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}: ${stderr}`));
      else resolve(JSON.parse(stdout.trim()) as string[]);
    });
  });
}

function startServer(ns: string, label: string): Promise<ChildProcess> {
  const p = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', serverScript, label], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    p.stdout!.once('data', () => resolve(p));
    p.once('exit', (code) => reject(new Error(`server ${label} exited ${code}`)));
  });
}

/** Plugs namespace ns into the fabric bridge as `dev` with addr/24. */
function plug(ns: string, port: string, dev: string, addr: string): void {
  ipn(fabric, 'link', 'add', port, 'type', 'veth', 'peer', 'name', dev, 'netns', ns);
  ipn(fabric, 'link', 'set', port, 'master', 'br0', 'up');
  ipn(ns, 'addr', 'add', `${addr}/24`, 'dev', dev);
  ipn(ns, 'link', 'set', dev, 'up');
}

describe('NodePort, SNAT mode (from-netdev / to-netdev on the node device)', needsRoot, () => {
  let n1: PodLab | undefined;
  let n2: PodLab | undefined;
  let dp: Datapath | undefined;
  let lb: SocketLb | undefined;
  let np: NodePortLb | undefined;
  const servers: ChildProcess[] = [];

  const cleanup = (): void => {
    for (const s of servers) s.kill('SIGKILL');
    lb?.close();
    dp?.close();
    n1?.destroy();
    n2?.destroy();
    for (const ns of [fabric, clientNs]) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    Datapath.removePins(pinDir);
  };

  before(async () => {
    cleanup();
    try {
      n1 = PodLab.create(`${name}-n1`, { v4: '10.244.1.1', v6: 'fd00:244:1::1' }, { web: { ns: `${name}-p1`, ip: pod1, ip6: 'fd00:244:1::10', host: 'lxc1' } });
      n2 = PodLab.create(`${name}-n2`, { v4: '10.244.2.1', v6: 'fd00:244:2::1' }, { web: { ns: `${name}-p2`, ip: pod2, ip6: 'fd00:244:2::10', host: 'lxc2' } });
      execFileSync('ip', ['netns', 'add', fabric]);
      execFileSync('ip', ['netns', 'add', clientNs]);
      ipn(fabric, 'link', 'add', 'br0', 'type', 'bridge');
      ipn(fabric, 'link', 'set', 'br0', 'up');
      plug(n1.node, 'n1', 'node0', node1Ip);
      plug(n2.node, 'n2', 'node0', node2Ip);
      plug(clientNs, 'c', 'eth0', clientIp);
      ipn(n1.node, 'route', 'add', '10.244.2.0/24', 'via', node2Ip);
      servers.push(await startServer(`${name}-p1`, 'pod1'), await startServer(`${name}-p2`, 'pod2'));
      dp = await Datapath.open({ pinDir });
      lb = SocketLb.open({ pinDir });
      dp.endpointsMapUpsert(pod1, { endpointId: 11, ifindex: 0, identity: 1000 });
      np = new NodePortLb(pinDir);
      await np.attach({ ifname: 'node0', netns: n1.nodeNetns });
      np.setConfig({ nodeIpv4: node1Ip, mode: 'snat' });
    } catch (err) {
      cleanup();
      throw err;
    }
  });

  after(cleanup);

  test('node address:30080 reaches the local pod (client address kept) and the remote one (SNAT to the node)', async () => {
    lb!.upsertService(nodePort([{ ip: pod1 }, { ip: pod2 }]));
    const got = new Set(await clientRun(30080, 24));
    assert.deepEqual([...got].sort(), [`pod1 ${clientIp}`, `pod2 ${node1Ip}`]);
    const conns = np!.connections();
    assert.ok(conns.some((c) => c.value.snat && c.value.snatPort >= 32768), JSON.stringify(conns));
    assert.ok(conns.some((c) => !c.value.snat), JSON.stringify(conns));
  });

  test('an established connection keeps its backend when that backend stops taking new ones', async () => {
    lb!.upsertService(nodePort([{ ip: pod2 }]));
    const script = `setTimeout(()=>{console.log('open');console.log(JSON.stringify(['timeout']));process.exit(0)},20000);const c=require('net').connect({host:'${node1Ip}',port:30080});const got=[];c.on('data',d=>{got.push(String(d).trim());if(got.length===1){process.stdout.write('open\\n');process.stdin.once('data',()=>c.write('x'))}else{console.log(JSON.stringify(got));process.exit(0)}});c.on('error',e=>{console.log('open');console.log(JSON.stringify([e.code]));process.exit(0)})`;
    const p = spawn('ip', ['netns', 'exec', clientNs, process.execPath, '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    const opened = new Promise<void>((resolve) => p.stdout!.on('data', (d: Buffer) => { out += String(d); if (out.includes('open')) resolve(); }));
    const done = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    await opened;
    // pod2 terminating, pod1 the only active backend: new connections go to pod1 only.
    lb!.upsertService(nodePort([{ ip: pod1 }, { ip: pod2, state: 'terminating' }]));
    assert.deepEqual([...new Set(await clientRun(30080, 8))], [`pod1 ${clientIp}`]);
    p.stdin!.write('go\n');
    await done;
    assert.deepEqual(JSON.parse(out.split('\n')[1]!), [`pod2 ${node1Ip}`, 'pod2']);
  });

  test('attaching again (an agent restart) keeps the attached programs when they are current, and replaces them when not', async () => {
    const target = { ifname: 'node0', netns: n1!.nodeNetns };
    const before = [await tcAttachedProgramId(target, 'ingress'), await tcAttachedProgramId(target, 'egress')];
    assert.ok(before[0] && before[1], `attached: ${JSON.stringify(before)}`);
    assert.deepEqual(await np!.attach(target), { reattached: false });
    assert.deepEqual([await tcAttachedProgramId(target, 'ingress'), await tcAttachedProgramId(target, 'egress')], before);
    // A program attached by someone else at the hook is not ours: NodePort attaches again.
    await tcDetach(target, 'egress');
    assert.deepEqual(await np!.attach(target), { reattached: true });
    const after = await tcAttachedProgramId(target, 'egress');
    assert.ok(after && after !== before[1], `to-netdev attached anew: ${after} (was ${before[1]})`);
    lb!.upsertService(nodePort([{ ip: pod1 }]));
    assert.deepEqual([...new Set(await clientRun(30080, 4))], [`pod1 ${clientIp}`]);
  });

  test('a ClusterIP frontend on the node address is not served from the fabric; a NodePort without backends drops', async () => {
    // (its backend is no NodePort backend: connections recorded earlier find theirs gone.)
    lb!.upsertService({ ...nodePort([{ ip: pod1 }]), id: 2, type: 'ClusterIP', frontend: { ip: node1Ip, port: 30081, protocol: 'TCP' }, backends: [{ ip: pod1, port: 9999, weight: 1, state: 'active' }] });
    assert.deepEqual(await clientRun(30081, 1), ['ECONNREFUSED']);
    lb!.upsertService(nodePort([]));
    assert.deepEqual(await clientRun(30080, 1), ['timeout']);
  });
});
