import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { proxy as api } from '@cilium-ts/api';
import { Datapath, fromProxyMark, linkIfindex, type EndpointDatapathSpec } from '@cilium-ts/bpf';
import { PodLab } from '@cilium-ts/bpf/testing';
import { createClient, waitForReady } from '@cilium-ts/grpc';

// The real path on the kernel: pod a's connection to pod b:80 (b has an ingress HTTP rule
// allowing GET /public from a) is redirected by the datapath (mark, node stack) and TPROXY
// to cilium-proxy running in the node namespace, which sees the original destination,
// looks a's identity up in the ipcache, enforces the rule and forwards allowed requests to
// the real server in pod b on a connection marked with a's identity.
const needsRoot = { skip: process.getuid?.() !== 0 && process.env.CI !== 'true' ? 'needs root' : false } as const;
const pid = process.pid;
const name = `l7r${pid % 100000}`;
const pods = {
  a: { ns: `${name}-a`, ip: '10.207.0.2', ip6: 'fd07::2', host: `l7a${pid}`, id: 71, identity: 7001 },
  b: { ns: `${name}-b`, ip: '10.207.0.3', ip6: 'fd07::3', host: `l7b${pid}`, id: 72, identity: 7002 },
  c: { ns: `${name}-c`, ip: '10.207.0.4', ip6: 'fd07::4', host: `l7c${pid}`, id: 73, identity: 7003 },
};
const bin = fileURLToPath(new URL('../bin/cilium-proxy.js', import.meta.url));
const socketOptions = fileURLToPath(new URL('./socket-options.js', import.meta.url));
const grpcEcho = new URL('./testing/grpc-echo.js', import.meta.url).href;
const GRPC_PORT = 50051;

/** Calls /test.Echo/<method> with grpc-js from namespace ns; resolves with 'ok:<reply>' or '<code>:<details>'. */
function grpcCall(ns: string, host: string, method: 'allowed' | 'denied'): Promise<string> {
  const script = `const m=await import(process.argv[1]);try{console.log('ok:'+await m.callEcho(process.argv[2],process.argv[3],'hi',2000))}catch(e){console.log(e.code+':'+e.details)}process.exit(0)`;
  return new Promise((resolve, reject) => {
    execFile('ip', ['netns', 'exec', ns, process.execPath, '--input-type=module', '-e', script, grpcEcho, `${host}:${GRPC_PORT}`, method], { timeout: 15000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}: ${stderr}`));
      else resolve(stdout.trim());
    });
  });
}

/**
 * Runs `node -e script` in namespace ns: it sends each raw request of `requests` on ONE
 * connection to host:port (optionally with SO_MARK) and prints one JSON line: the status
 * and body of each response, or 'timeout' / 'closed' / 'error:<code>'.
 */
function httpExchange(ns: string, host: string, port: number, requests: string[], mark?: number): Promise<Array<{ status: number; body: string } | string>> {
  const script = `const net=require('net');const [host,port,reqs,mark,so]=[process.argv[1],+process.argv[2],JSON.parse(process.argv[3]),+process.argv[4],process.argv[5]];
(async()=>{let s;if(mark){const m=await import(so);s=m.markedSocket(4,mark);s.connect(port,host)}else s=net.connect(port,host);
let buf=Buffer.alloc(0),waiter=null,ended=false;const out=[];
s.on('data',(d)=>{buf=Buffer.concat([buf,d]);waiter&&waiter()});s.on('end',()=>{ended=true;waiter&&waiter()});s.on('error',(e)=>{out.push('error:'+e.code);ended=true;waiter&&waiter()});
const t=setTimeout(()=>{out.push('timeout');console.log(JSON.stringify(out));process.exit(0)},2500);
for(const r of reqs){s.write(r);const res=await new Promise((resolve)=>{waiter=()=>{const e=buf.indexOf('\\r\\n\\r\\n');if(e>=0){const head=buf.subarray(0,e).toString();const m=/content-length: *(\\d+)/i.exec(head);const len=m?+m[1]:0;if(buf.length>=e+4+len){const body=buf.subarray(e+4,e+4+len).toString();buf=buf.subarray(e+4+len);resolve({status:+head.split(' ')[1],body});return}}if(ended)resolve('closed')};waiter()});out.push(res);if(res==='closed'||typeof res==='string')break}
clearTimeout(t);console.log(JSON.stringify(out));s.destroy()})()`;
  return new Promise((resolve, reject) => {
    execFile('ip', ['netns', 'exec', ns, process.execPath, '-e', script, host, String(port), JSON.stringify(requests), String(mark ?? 0), socketOptions], { timeout: 15000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}: ${stderr}`));
      else resolve(JSON.parse(stdout.trim()) as Array<{ status: number; body: string } | string>);
    });
  });
}

const get = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: b\r\n\r\n`;

describe('transparent redirect to cilium-proxy on the real kernel (ingress HTTP rule)', needsRoot, () => {
  const pinDir = `/sys/fs/bpf/${name}`;
  const dir = mkdtempSync(join(tmpdir(), 'l7-redirect-'));
  const sock = `unix://${join(dir, 'proxy.sock')}`;
  let lab: PodLab | undefined;
  let dp: Datapath | undefined;
  let server: ChildProcess | undefined;
  let grpcServer: ChildProcess | undefined;
  let proxy: ChildProcess | undefined;
  let client: api.ProxyClient | undefined;
  let sync: ReturnType<api.ProxyClient['sync']> | undefined;
  const specs: Partial<Record<keyof typeof pods, EndpointDatapathSpec>> = {};

  before(async () => {
    Datapath.removePins(pinDir);
    lab = PodLab.create(`${name}-n`, { v4: '10.207.0.1', v6: 'fd07::1' }, pods);
    const script = `require('http').createServer((q,r)=>{const t='hello '+q.url+' from '+q.socket.remoteAddress;r.writeHead(200,{'Content-Length':Buffer.byteLength(t)});r.end(t)}).listen(80,'0.0.0.0',()=>console.log('listening'))`;
    const [cmd, ...args] = lab.exec('b', [process.execPath, '-e', script]);
    server = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      server!.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('listening')) resolve(); });
      server!.once('exit', (code) => reject(new Error(`test server exited with ${code}`)));
    });
    const [gcmd, ...gargs] = lab.exec('b', [process.execPath, '--input-type=module', '-e', `const m=await import(${JSON.stringify(grpcEcho)});await m.startEchoServer([],'0.0.0.0:${GRPC_PORT}');console.log('listening')`]);
    grpcServer = spawn(gcmd!, gargs, { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      grpcServer!.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('listening')) resolve(); });
      grpcServer!.once('exit', (code) => reject(new Error(`gRPC test server exited with ${code}`)));
    });
    dp = await Datapath.open({ pinDir, ctGcIntervalMs: 0, localDelivery: 'peer' });
    for (const k of ['a', 'b', 'c'] as const) {
      const p = pods[k];
      dp.ipcacheUpsert(p.ip, p.identity);
      specs[k] = {
        id: p.id, identity: p.identity, hostIfname: p.host, hostIfindex: await linkIfindex({ ifname: p.host, netns: lab.nodeNetns }),
        ipv4: p.ip, ipv6: p.ip6, netns: lab.nodeNetns, ingressEnforced: k === 'b', egressEnforced: false,
      };
    }
    dp.ipcacheUpsert('10.207.0.1', 1);
    await dp.attachEndpoint(specs.a!, []);
    await dp.attachEndpoint(specs.c!, []);
    await dp.attachEndpoint(specs.b!, [
      { direction: 'ingress', identity: pods.a.identity, protocol: 6, port: 80, deny: false, proxyPort: 10001 },
      { direction: 'ingress', identity: pods.a.identity, protocol: 6, port: GRPC_PORT, deny: false, proxyPort: 10001 },
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
      endpoints: [{ endpointId: pods.b.id, identity: pods.b.identity, addresses: [pods.b.ip, pods.b.ip6], ports: [
        { direction: 'INGRESS', port: 80, proxyPort: 10001, peers: [{ identity: pods.a.identity, http: [{ method: 'GET', path: '/public(/.*)?' }] }] },
        { direction: 'INGRESS', port: GRPC_PORT, proxyPort: 10001, peers: [{ identity: pods.a.identity, http: [{ method: 'POST', path: '/test\\.Echo/Allowed' }] }] },
      ] }],
    }));
    assert.deepEqual((await ack).endpointIds, [pods.b.id]);
  });

  after(async () => {
    sync?.end();
    client?.close();
    proxy?.kill('SIGKILL');
    server?.kill('SIGKILL');
    grpcServer?.kill('SIGKILL');
    if (dp) {
      for (const s of Object.values(specs)) await dp.detachEndpoint(s).catch(() => undefined);
      dp.close();
    }
    lab?.destroy();
    Datapath.removePins(pinDir);
    rmSync(dir, { recursive: true, force: true });
  });

  test('before the proxy is marked ready the covered traffic is dropped, not allowed at L4', async () => {
    assert.deepEqual(await httpExchange(pods.a.ns, pods.b.ip, 80, [get('/public')]), ['timeout']);
  });

  test('GET /public gets 200 from the real server, GET /private 403 Access denied, on the same keep-alive connection; a smuggling shape gets 400', async () => {
    dp!.proxyReadySet(pods.b.id, 10001, { ifindex: 0 });
    const res = await httpExchange(pods.a.ns, pods.b.ip, 80, [get('/public'), get('/private'), get('/public/x')]);
    assert.deepEqual(res, [
      // The server sees the proxy's upstream connection, from the node's address.
      { status: 200, body: 'hello /public from 10.207.0.1' },
      { status: 403, body: 'Access denied' },
      { status: 200, body: 'hello /public/x from 10.207.0.1' },
    ]);
    const smuggle = await httpExchange(pods.a.ns, pods.b.ip, 80, ['POST /public HTTP/1.1\r\nHost: b\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /private HTTP/1.1\r\nHost: b\r\n\r\n', get('/public')]);
    assert.equal((smuggle[0] as { status: number }).status, 400);
    assert.equal(smuggle[1], 'closed');
  });

  test('gRPC over h2c (grpc-js both ends): the allowed method reaches the server in b, the other gets PERMISSION_DENIED from the proxy', async () => {
    assert.equal(await grpcCall(pods.a.ns, pods.b.ip, 'allowed'), 'ok:echo:hi');
    assert.equal(await grpcCall(pods.a.ns, pods.b.ip, 'denied'), '7:RBAC: access denied');
    // c is not selected at L4: its call never connects.
    assert.match(await grpcCall(pods.c.ns, pods.b.ip, 'allowed'), /^(14|4):/);
  });

  test('a peer the policy does not select is dropped by the datapath', async () => {
    assert.deepEqual(await httpExchange(pods.c.ns, pods.b.ip, 80, [get('/public')]), ['timeout']);
  });

  test('the proxy\'s upstream is still subject to b\'s L3/L4 policy for the original source\'s identity', async () => {
    const node = lab!.node;
    // Marked as from a (allowed at L4): delivered without a second redirect.
    assert.deepEqual(await httpExchange(node, pods.b.ip, 80, [get('/public')], fromProxyMark(pods.a.identity)), [{ status: 200, body: 'hello /public from 10.207.0.1' }]);
    // Marked as from c, or unmarked (the host): b's policy drops it.
    assert.deepEqual(await httpExchange(node, pods.b.ip, 80, [get('/public')], fromProxyMark(pods.c.identity)), ['timeout']);
    assert.deepEqual(await httpExchange(node, pods.b.ip, 80, [get('/public')]), ['timeout']);
  });

  test('after the proxy is withdrawn (proxy_ready removed) the traffic drops again', async () => {
    dp!.proxyReadyDelete(pods.b.id, 10001);
    assert.deepEqual(await httpExchange(pods.a.ns, pods.b.ip, 80, [get('/public')]), ['timeout']);
  });
});
