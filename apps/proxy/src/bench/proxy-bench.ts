// nx run proxy:bench (root; take /tmp/cilium-ts-kernel.lock): HTTP/1.1 keep-alive
// requests per second from pod a to pod b on the real datapath, three ways in one run,
// interleaved and repeated (the median is printed):
//   no L7  - b:81, allowed at L4 only (no proxy on the path);
//   L7     - b:80 with an ingress rule GET /public, redirected to cilium-proxy (TPROXY);
//   haproxy - Debian's haproxy (installed on demand) in the node namespace forwarding
//             node:8080 to b:81, the same path through another proxy (nbthread 1: the
//             proxy is one Node event loop).
// With 1 and 64 concurrent connections, then p50/p99 at a fixed 1,000 req/s (added
// latency = each proxy minus no L7). Everything lives in throwaway namespaces and a temp dir.
import { spawn, spawnSync, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { proxy as api } from '@cilium-ts/api';
import { Datapath, linkIfindex, type EndpointDatapathSpec } from '@cilium-ts/bpf';
import { PodLab } from '@cilium-ts/bpf/testing';
import { createClient, waitForReady } from '@cilium-ts/grpc';

const name = 'pxbench';
const router = { v4: '10.209.0.1', v6: 'fd09::1' };
const pods = {
  a: { ns: `${name}-a`, ip: '10.209.0.2', ip6: 'fd09::2', host: 'pxba', id: 91, identity: 9001 },
  b: { ns: `${name}-b`, ip: '10.209.0.3', ip6: 'fd09::3', host: 'pxbb', id: 92, identity: 9002 },
};
const HOST_IDENTITY = 1;
const bin = fileURLToPath(new URL('../../bin/cilium-proxy.js', import.meta.url));
const load = fileURLToPath(new URL('./http-load.js', import.meta.url));
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const seconds = Number(process.env.BENCH_SECONDS ?? 3);

interface Path { label: string; host: string; port: number; path: string }
const paths: Path[] = [
  { label: 'no L7 (L4 only)', host: pods.b.ip, port: 81, path: '/public' },
  { label: 'L7 rule (cilium-proxy)', host: pods.b.ip, port: 80, path: '/public' },
  { label: 'haproxy', host: router.v4, port: 8080, path: '/public' },
];

function ensureHaproxy(): void {
  if (spawnSync('haproxy', ['-v'], { stdio: 'ignore' }).status === 0) return;
  console.error('installing Debian haproxy (apt-get install haproxy)...');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const argv of [['update', '-qq'], ['install', '-y', '-qq', 'haproxy']]) {
    const r = spawnSync('apt-get', argv, { stdio: 'inherit', env });
    if (r.status !== 0) throw new Error(`apt-get ${argv.join(' ')} failed (exit ${r.status}): the haproxy baseline needs Debian's haproxy`);
  }
}

function inPod(pod: string, argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ip', ['netns', 'exec', pod, ...argv], { timeout: 120_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${argv.join(' ')}: ${err.message} ${stderr}`)) : resolve(stdout)));
  });
}

async function throughput(p: Path, conns: number): Promise<number> {
  const out = JSON.parse(await inPod(pods.a.ns, [process.execPath, load, 'throughput', p.host, String(p.port), p.path, String(conns), String(seconds)])) as { requests: number; seconds: number };
  return out.requests / out.seconds;
}

async function latency(p: Path): Promise<{ p50Us: number; p99Us: number }> {
  return JSON.parse(await inPod(pods.a.ns, [process.execPath, load, 'latency', p.host, String(p.port), p.path, '1000', String(seconds + 1)])) as { p50Us: number; p99Us: number };
}

const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;

function waitFor(child: ChildProcess, text: string, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => { if (d.toString().includes(text)) resolve(); });
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code}`)));
  });
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('proxy bench: needs root (network namespaces, BPF, TPROXY)');
  ensureHaproxy();
  const pinDir = `/sys/fs/bpf/${name}`;
  const dir = mkdtempSync(join(tmpdir(), 'proxy-bench-'));
  const children: ChildProcess[] = [];
  let lab: PodLab | undefined;
  let dp: Datapath | undefined;
  const specs: EndpointDatapathSpec[] = [];
  let client: api.ProxyClient | undefined;
  let sync: ReturnType<api.ProxyClient['sync']> | undefined;
  const cleanup = (): void => {
    for (const c of children) c.kill('SIGKILL');
  };
  process.once('SIGINT', () => { cleanup(); lab?.destroy(); Datapath.removePins(pinDir); process.exit(130); });
  try {
    Datapath.removePins(pinDir);
    lab = PodLab.create(`${name}-n`, router, pods);
    const script = `const h=require('http');for(const p of [80,81])h.createServer((q,r)=>{r.writeHead(200,{'Content-Length':2});r.end('ok')}).listen(p,'0.0.0.0');console.log('listening')`;
    const [cmd, ...args] = lab.exec('b', [process.execPath, '-e', script]);
    const server = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(server);
    await waitFor(server, 'listening', 'the bench server');
    dp = await Datapath.open({ pinDir, ctGcIntervalMs: 0, localDelivery: 'peer' });
    for (const p of Object.values(pods)) dp.ipcacheUpsert(p.ip, p.identity);
    dp.ipcacheUpsert(router.v4, HOST_IDENTITY);
    for (const k of ['a', 'b'] as const) {
      const p = pods[k];
      specs.push({ id: p.id, identity: p.identity, hostIfname: p.host, hostIfindex: await linkIfindex({ ifname: p.host, netns: lab.nodeNetns }), ipv4: p.ip, ipv6: p.ip6, netns: lab.nodeNetns, ingressEnforced: k === 'b', egressEnforced: false });
    }
    await dp.attachEndpoint(specs[0]!, []);
    await dp.attachEndpoint(specs[1]!, [
      { direction: 'ingress', identity: pods.a.identity, protocol: 6, port: 80, deny: false, proxyPort: 10001 },
      { direction: 'ingress', identity: pods.a.identity, protocol: 6, port: 81, deny: false },
      { direction: 'ingress', identity: HOST_IDENTITY, protocol: 6, port: 81, deny: false },
    ]);
    const sock = `unix://${join(dir, 'proxy.sock')}`;
    const proxy = spawn('nsenter', [`--net=${lab.nodeNetns}`, process.execPath, bin, '--listen', sock, '--bpf-pin-dir', pinDir, '--log-level', 'warn'], { stdio: ['ignore', 'inherit', 'inherit'] });
    children.push(proxy);
    client = createClient(api.ProxyClient, sock);
    await waitForReady(client, new Date(Date.now() + 20_000));
    sync = client.sync();
    sync.on('error', () => undefined);
    const ack = new Promise<api.PolicyAck>((resolve) => sync!.once('data', resolve));
    sync.write(api.PolicyUpdate.fromJSON({
      revision: '1',
      endpoints: [{ endpointId: pods.b.id, identity: pods.b.identity, addresses: [pods.b.ip, pods.b.ip6], ports: [{ direction: 'INGRESS', port: 80, proxyPort: 10001, peers: [{ identity: pods.a.identity, http: [{ method: 'GET', path: '/public(/.*)?' }] }] }] }],
    }));
    await ack;
    dp.proxyReadySet(pods.b.id, 10001, { ifindex: 0 });
    const cfg = join(dir, 'haproxy.cfg');
    writeFileSync(cfg, [
      'global', '  nbthread 1', '  maxconn 4096',
      'defaults', '  mode http', '  option http-keep-alive', '  timeout connect 5s', '  timeout client 60s', '  timeout server 60s',
      'frontend bench', `  bind ${router.v4}:8080`, '  default_backend b',
      'backend b', `  server b ${pods.b.ip}:81`, '',
    ].join('\n'));
    const haproxy = spawn('nsenter', [`--net=${lab.nodeNetns}`, 'haproxy', '-db', '-f', cfg], { stdio: ['ignore', 'inherit', 'inherit'] });
    children.push(haproxy);
    // Every path answers before measuring.
    for (const p of paths) await throughput({ ...p }, 1).catch((err: Error) => { throw new Error(`${p.label}: ${err.message}`); });

    const rates = new Map<string, number[]>();
    const lat = new Map<string, Array<{ p50Us: number; p99Us: number }>>();
    for (let r = 0; r < rounds; r++) {
      for (const conns of [1, 64]) for (const p of paths) {
        const k = `${p.label}|${conns}`;
        rates.set(k, [...(rates.get(k) ?? []), await throughput(p, conns)]);
      }
      for (const p of paths) lat.set(p.label, [...(lat.get(p.label) ?? []), await latency(p)]);
    }
    const rate = (label: string, conns: number): number => median(rates.get(`${label}|${conns}`)!);
    const [none, l7, hap] = paths.map((p) => p.label) as [string, string, string];
    console.log(`\nHTTP/1.1 keep-alive GET, pod a -> pod b on the datapath; median of ${rounds} interleaved rounds of ${seconds} s\n`);
    console.log('| path | conns | req/s | / no L7 | / haproxy |');
    console.log('|---|---:|---:|---:|---:|');
    for (const conns of [1, 64]) for (const label of [none, l7, hap]) {
      const v = rate(label, conns);
      console.log(`| ${label} | ${conns} | ${v.toFixed(0)} | ${(v / rate(none, conns)).toFixed(2)} | ${(v / rate(hap, conns)).toFixed(2)} |`);
    }
    const pl = (label: string, f: 'p50Us' | 'p99Us'): number => median(lat.get(label)!.map((x) => x[f]));
    console.log('\nLatency at a fixed 1,000 req/s (16 connections), median of rounds; added = minus no L7\n');
    console.log('| path | p50 us | p99 us | added p50 us | added p99 us |');
    console.log('|---|---:|---:|---:|---:|');
    for (const label of [none, l7, hap]) {
      console.log(`| ${label} | ${pl(label, 'p50Us').toFixed(0)} | ${pl(label, 'p99Us').toFixed(0)} | ${(pl(label, 'p50Us') - pl(none, 'p50Us')).toFixed(0)} | ${(pl(label, 'p99Us') - pl(none, 'p99Us')).toFixed(0)} |`);
    }
  } finally {
    sync?.end();
    client?.close();
    cleanup();
    if (dp) {
      for (const s of specs) await dp.detachEndpoint(s).catch(() => undefined);
      dp.close();
    }
    lab?.destroy();
    Datapath.removePins(pinDir);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (err: Error) => {
  console.error(`proxy bench: ${err.message}`);
  process.exit(1);
});
