// NodePort in SNAT mode on the real kernel: a fabric namespace (bridge) joining a client
// and two node namespaces, each node with one pod; from-netdev / to-netdev on node 1's
// fabric device. The client reaches node 1's address:30080 and gets the local pod (which
// sees the client's address) and the other node's pod (which sees node 1's address:
// SNAT); an established connection keeps its backend when that backend stops taking new
// connections; traffic policy Local serves only the local pod; a ClusterIP is not
// reachable from the fabric. Node 2 has its own datapath
// (pins) with NodePort on its fabric device too. DSR mode: the client gets node 2's pod's
// answers from node 1's address with no byte of them passing node 1 (node 2 rewrites
// them, from the IPv4 option node 1 adds), and the option is read only where it should be.
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
import { buildPacket } from './testing/packet-builder.js';
import { testRunPinned } from './test-run.js';

const name = uniqueName('np');
const fabric = `${name}-f`;
const clientNs = `${name}-c`;
const pinDir = `/sys/fs/bpf/${name}`;
const pinDir2 = `/sys/fs/bpf/${name}-2`;
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
// On 8081 it sends 4 MiB and closes.
const serverScript = `const n=process.argv[1];const net=require('net');net.createServer(s=>{s.on('error',()=>{});s.end(Buffer.alloc(4<<20,120))}).listen(8081,'0.0.0.0');net.createServer(s=>{s.write(n+' '+s.remoteAddress+'\\n');s.on('data',()=>s.write(n+'\\n'));s.on('error',()=>{})}).listen(8080,'0.0.0.0',()=>console.log('ready'))`;

// Download: the bytes read from host:port until the server closes.
const downloadScript = `const [host,port]=process.argv.slice(1);let n=0;const c=require('net').connect({host,port:+port});c.on('data',d=>{n+=d.length});c.on('end',()=>console.log(n));c.on('error',e=>console.log(e.code))`;

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

function download(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ip', ['netns', 'exec', clientNs, process.execPath, '-e', downloadScript, node1Ip, String(port)], { timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}: ${stderr}`));
      else resolve(stdout.trim());
    });
  });
}

/** Bytes node ns received on its fabric device so far. */
function rxBytes(ns: string): number {
  const [link] = JSON.parse(execFileSync('ip', ['-n', ns, '-j', '-s', 'link', 'show', 'node0'], { encoding: 'utf8' })) as Array<{ stats64: { rx: { bytes: number } } }>;
  return link!.stats64.rx.bytes;
}

/** An IPv4 frame with options (after the 20-byte header): ihl, total length and header checksum fixed. */
function withIpOptions(frame: Buffer, options: Buffer): Buffer {
  const out = Buffer.concat([frame.subarray(0, 34), options, frame.subarray(34)]);
  out[14] = 0x40 | ((20 + options.length) / 4);
  out.writeUInt16BE(out.length - 14, 16);
  return withIpChecksum(out);
}

/** The frame with its IPv4 header checksum computed. */
function withIpChecksum(frame: Buffer): Buffer {
  const out = Buffer.from(frame);
  const hlen = (out[14]! & 0xf) * 4;
  out.writeUInt16BE(0, 24);
  let sum = 0;
  for (let i = 14; i < 14 + hlen; i += 2) sum += out.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  out.writeUInt16BE(~sum & 0xffff, 24);
  return out;
}

/** Cilium's DSR option: type 0x9a, length 8, the service port and address. */
function dsrOption(addr: string, port: number): Buffer {
  const b = Buffer.from([0x9a, 8, 0, 0, ...addr.split('.').map(Number)]);
  b.writeUInt16BE(port, 2);
  return b;
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

describe('NodePort, SNAT and DSR modes (from-netdev / to-netdev on the node devices)', needsRoot, () => {
  let n1: PodLab | undefined;
  let n2: PodLab | undefined;
  let dp: Datapath | undefined;
  let lb: SocketLb | undefined;
  let np: NodePortLb | undefined;
  let dp2: Datapath | undefined;
  let lb2: SocketLb | undefined;
  let np2: NodePortLb | undefined;
  const servers: ChildProcess[] = [];

  const cleanup = (): void => {
    for (const s of servers) s.kill('SIGKILL');
    lb?.close();
    dp?.close();
    lb2?.close();
    dp2?.close();
    n1?.destroy();
    n2?.destroy();
    for (const ns of [fabric, clientNs]) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    Datapath.removePins(pinDir);
    Datapath.removePins(pinDir2);
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
      dp2 = await Datapath.open({ pinDir: pinDir2 });
      lb2 = SocketLb.open({ pinDir: pinDir2 });
      dp2.endpointsMapUpsert(pod2, { endpointId: 21, ifindex: 0, identity: 1000 });
      np2 = new NodePortLb(pinDir2);
      await np2.attach({ ifname: 'node0', netns: n2.nodeNetns });
      np2.setConfig({ nodeIpv4: node2Ip, mode: 'snat' });
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

  test('traffic policy Local: only the node\'s own backend; no local backend drops', async () => {
    lb!.upsertService({ ...nodePort([{ ip: pod1 }, { ip: pod2 }]), trafficPolicy: 'Local' });
    assert.equal(lb!.list().services.find((s) => s.slot === 0 && s.revNatId === 1)?.flags, 'NodePort, Local');
    assert.deepEqual([...new Set(await clientRun(30080, 16))], [`pod1 ${clientIp}`], 'only the local pod, the client address kept');
    lb!.upsertService({ ...nodePort([{ ip: pod2 }]), trafficPolicy: 'Local' });
    assert.deepEqual(await clientRun(30080, 1), ['timeout'], 'the remote backend is not used');
    lb!.upsertService(nodePort([{ ip: pod2 }]));
    assert.deepEqual(await clientRun(30080, 1), [`pod2 ${node1Ip}`], 'Cluster: the remote backend again');
  });

  test('a ClusterIP frontend on the node address is not served from the fabric; a NodePort without backends drops', async () => {
    // (its backend is no NodePort backend: connections recorded earlier find theirs gone.)
    lb!.upsertService({ ...nodePort([{ ip: pod1 }]), id: 2, type: 'ClusterIP', frontend: { ip: node1Ip, port: 30081, protocol: 'TCP' }, backends: [{ ip: pod1, port: 9999, weight: 1, state: 'active' }] });
    assert.deepEqual(await clientRun(30081, 1), ['ECONNREFUSED']);
    lb!.upsertService(nodePort([]));
    assert.deepEqual(await clientRun(30080, 1), ['timeout']);
  });

  test('DSR: the remote pod answers the client itself, from the NodePort address; node 1 keeps no reply state and sees none of the reply bytes; the local pod as in SNAT mode', async () => {
    np!.setConfig({ nodeIpv4: node1Ip, mode: 'dsr' });
    np2!.setConfig({ nodeIpv4: node2Ip, mode: 'dsr' });
    lb!.upsertService(nodePort([{ ip: pod1 }, { ip: pod2 }]));
    // The client connects to node1:30080: a connection exists only if the answers came from there.
    assert.deepEqual([...new Set(await clientRun(30080, 24))].sort(), [`pod1 ${clientIp}`, `pod2 ${clientIp}`]);
    const dsr = np!.connections().filter((c) => c.value.dsr);
    assert.ok(dsr.length > 0 && dsr.every((c) => !c.value.snat && c.tuple.daddr === node1Ip), JSON.stringify(np!.connections()));
    assert.deepEqual(np!.reverse().filter((r) => r.tuple.saddr === pod2 && r.tuple.daddr === clientIp), [], 'node 1 holds no reply state for pod 2');
    const back = np2!.reverse().filter((r) => r.value.dsr);
    assert.ok(back.length >= dsr.length && back.every((r) => r.tuple.saddr === pod2 && r.value.frontendAddr === node1Ip && r.value.frontendPort === 30080 && r.value.clientAddr === clientIp), JSON.stringify(back));
    // 4 MiB from pod 2 through node 1's address: node 1 receives the client's ACKs only.
    lb!.upsertService({ ...nodePort([{ ip: pod2 }]), id: 4, frontend: { ip: '0.0.0.0', port: 30082, protocol: 'TCP' }, backends: [{ ip: pod2, port: 8081, weight: 1, state: 'active' }] });
    const rx = rxBytes(n1!.node);
    assert.equal(await download(30082), String(4 << 20));
    const seen = rxBytes(n1!.node) - rx;
    assert.ok(seen < 1 << 20, `node 1 received ${seen} bytes during a 4 MiB DSR download`);
    // The same download in SNAT mode passes node 1 (the measure above can fail).
    np!.setConfig({ nodeIpv4: node1Ip, mode: 'snat' });
    const rx2 = rxBytes(n1!.node);
    assert.equal(await download(30082), String(4 << 20));
    assert.ok(rxBytes(n1!.node) - rx2 > 4 << 20, 'SNAT: the reply passes node 1');
  });

  test('DSR option: node 1 puts the frontend after the IP header of a SYN; node 2 reads it only for its endpoint and only in DSR mode, and removes it', () => {
    np!.setConfig({ nodeIpv4: node1Ip, mode: 'dsr' });
    lb!.upsertService(nodePort([{ ip: pod2 }]));
    const syn = withIpChecksum(buildPacket({ src: '192.168.77.200', dst: node1Ip, protocol: 'tcp', sport: 41000, dport: 30080 }));
    const sent = testRunPinned(`${pinDir}/nodeport/from-netdev`, 'from-netdev', syn);
    assert.equal(sent.retval, 7, 'redirected to the backend node');
    const ihl = sent.dataOut[14]! & 0xf;
    assert.equal(ihl, 7);
    assert.deepEqual(sent.dataOut.subarray(34, 42), dsrOption(node1Ip, 30080));
    assert.deepEqual(sent.dataOut.subarray(30, 34), Buffer.from(pod2.split('.').map(Number)), 'destination: the backend');
    assert.equal(sent.dataOut.readUInt16BE(44), 8080);
    assert.deepEqual(withIpChecksum(sent.dataOut), sent.dataOut, 'IP header checksum valid');

    const run2 = (frame: Buffer): Buffer => {
      const r = testRunPinned(`${pinDir2}/nodeport/from-netdev`, 'from-netdev', frame);
      assert.equal(r.retval, 0);
      return r.dataOut;
    };
    const plain = withIpChecksum(buildPacket({ src: '192.168.77.201', dst: pod2, protocol: 'tcp', sport: 41001, dport: 8080 }));
    const opt = withIpOptions(plain, dsrOption(node1Ip, 30080));
    const recorded = (): number => np2!.reverse().filter((r) => r.tuple.daddr === '192.168.77.201').length;
    // SNAT mode: not read, left as it came.
    np2!.setConfig({ nodeIpv4: node2Ip, mode: 'snat' });
    assert.deepEqual(run2(opt), opt);
    assert.equal(recorded(), 0);
    np2!.setConfig({ nodeIpv4: node2Ip, mode: 'dsr' });
    // Not to an endpoint of node 2: left as it came.
    const stranger = withIpOptions(withIpChecksum(buildPacket({ src: '192.168.77.201', dst: '10.244.2.99', protocol: 'tcp', sport: 41001, dport: 8080 })), dsrOption(node1Ip, 30080));
    assert.deepEqual(run2(stranger), stranger);
    // Another option first (NOP padding): not a DSR option where node 1 puts it, left as it came.
    const other = withIpOptions(plain, Buffer.from([1, 1, 1, 1]));
    assert.deepEqual(run2(other), other);
    assert.equal(recorded(), 0);
    // To pod 2: recorded and removed, the header as it was before the option.
    assert.deepEqual(run2(opt), plain);
    assert.deepEqual(np2!.reverse().filter((r) => r.tuple.daddr === '192.168.77.201').map((r) => r.value), [
      { clientAddr: '192.168.77.201', frontendAddr: node1Ip, clientPort: 41001, frontendPort: 30080, revNatIndex: 0, snat: false, dsr: true },
    ]);
  });
});
