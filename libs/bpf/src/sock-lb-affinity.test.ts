// Client-IP session affinity at the socket (bpf/lb-affinity.h) on the real kernel: each
// client is a network namespace (the socket LB keys affinity by netns cookie, as Cilium's)
// whose processes run in the test's cgroup; every namespace has the service's five backend
// addresses on lo and one server that answers with the address it was reached on.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmdirSync } from 'node:fs';
import type { Service } from '@cilium-ts/loadbalancer';
import { cgroup2Root } from './cgroup2.js';
import { Datapath } from './datapath.js';
import { SocketLb } from './sock-lb.js';
import { needsRoot, spawnInNetns, uniqueName, untilListening } from './testing/test-support.js';

const name = uniqueName('lbaff');
const cgroup = `${needsRoot.skip === false ? cgroup2Root() : '/sys/fs/cgroup'}/${name}`;
const pinDir = `/sys/fs/bpf/${name}`;
const backends = ['10.244.7.1', '10.244.7.2', '10.244.7.3', '10.244.7.4', '10.244.7.5'];
const vip = '10.96.7.10';
const serverScript = "require('net').createServer((s)=>{s.on('error',()=>{});s.end(s.localAddress)}).listen(8080,'0.0.0.0',()=>console.log('listening'))";
const clientScript = `const [host,n]=process.argv.slice(1);const net=require('net');const out=[];let i=0;
const next=()=>{if(i++>=+n){console.log(JSON.stringify(out));return}
const c=net.connect({host,port:80});let d='';c.on('data',(x)=>{d+=x});c.on('end',()=>{out.push(d);next()});c.on('error',(e)=>{out.push(e.code);next()})};next()`;

const service = (timeout: number | undefined, bes = backends): Service => ({
  id: 70, frontend: { ip: vip, port: 80, protocol: 'TCP' }, type: 'ClusterIP', trafficPolicy: 'Cluster',
  backends: bes.map((ip) => ({ ip, port: 8080, weight: 1, state: 'active' as const })),
  sessionAffinityTimeoutSeconds: timeout,
});

describe('session affinity (ClientIP with a timeout) at the socket', needsRoot, () => {
  const clients: Array<{ ns: string; server: ChildProcess }> = [];
  let lb: SocketLb | undefined;

  /** A new client namespace with the backends on lo and their server. */
  async function newClient(): Promise<string> {
    const ns = `${name}-${clients.length}`;
    execFileSync('ip', ['netns', 'add', ns]);
    const entry = { ns, server: undefined as unknown as ChildProcess };
    clients.push(entry);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    for (const b of backends) execFileSync('ip', ['-n', ns, 'addr', 'add', `${b}/32`, 'dev', 'lo']);
    entry.server = spawnInNetns(ns, serverScript);
    await untilListening(entry.server);
    return ns;
  }

  /** n connections to the VIP from namespace ns (in the cgroup); the backend of each. */
  function connect(ns: string, n: number): Promise<string[]> {
    const cmd = ['sh', '-c', `echo $$ > ${cgroup}/cgroup.procs && exec ip netns exec ${ns} "$@"`, 'client', process.execPath, '-e', clientScript, vip, String(n)];
    return new Promise((resolve, reject) => {
      execFile(cmd[0]!, cmd.slice(1), { timeout: 60_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}: ${stderr}`)) : resolve(JSON.parse(stdout.trim()) as string[])));
    });
  }

  before(() => {
    Datapath.removePins(pinDir);
    mkdirSync(cgroup);
    lb = SocketLb.open({ pinDir });
    lb.attachCgroup(cgroup);
  });

  after(() => {
    for (const c of clients) {
      c.server?.kill('SIGKILL');
      execFileSync('ip', ['netns', 'del', c.ns], { stdio: 'ignore' });
    }
    if (lb && existsSync(cgroup)) lb.detachCgroup(cgroup);
    lb?.close();
    Datapath.removePins(pinDir);
    if (existsSync(cgroup)) rmdirSync(cgroup);
  });

  test('without affinity one client spreads over the backends', async () => {
    lb!.upsertService(service(undefined));
    const ns = await newClient();
    const got = await connect(ns, 20);
    assert.ok(got.every((b) => backends.includes(b)), `every connection reached a backend: ${got.join(',')}`);
    assert.ok(new Set(got).size > 1, 'random selection: 20 connections on more than one backend');
  });

  test('with affinity a client keeps its backend, another client chooses its own, a removed backend is left', async () => {
    lb!.upsertService(service(3600));
    const a = clients[0]!.ns;
    const first = await connect(a, 20);
    assert.equal(new Set(first).size, 1, `one backend for client A: ${first.join(',')}`);
    assert.ok(backends.includes(first[0]!));
    assert.deepEqual(await connect(a, 5), Array(5).fill(first[0]), 'a later process of the same client too');
    // Other clients (namespaces) choose on their own: one of them lands elsewhere.
    const others: string[] = [];
    while (others.every((b) => b === first[0]) && others.length < 12) {
      const got = await connect(await newClient(), 5);
      assert.equal(new Set(got).size, 1, `each client keeps its backend: ${got.join(',')}`);
      others.push(got[0]!);
    }
    assert.ok(others.some((b) => b !== first[0]), `a second client chose another backend: ${others.join(',')}`);
    // The kept backend leaves the service: the client gets another one (and keeps that).
    lb!.upsertService(service(3600, backends.filter((b) => b !== first[0])));
    const moved = await connect(a, 5);
    assert.equal(new Set(moved).size, 1, `client A keeps its new backend: ${moved.join(',')}`);
    assert.notEqual(moved[0], first[0]);
  });

  test('after the timeout the client chooses again', async () => {
    lb!.upsertService(service(1));
    const a = clients[0]!.ns;
    const kept = await connect(a, 10);
    assert.equal(new Set(kept).size, 1, `within the timeout one backend: ${kept.join(',')}`);
    // Entries expire once more than the timeout (1 s) has passed since their last use
    // (seconds of CLOCK_MONOTONIC): after each wait the choice is new, and some choice differs.
    const chosen: string[] = [];
    while (chosen.every((b) => b === kept[0]) && chosen.length < 8) {
      await new Promise((r) => setTimeout(r, 2100));
      chosen.push((await connect(a, 1))[0]!);
    }
    assert.ok(chosen.some((b) => b !== kept[0]), `a new backend after the timeout: ${kept[0]} then ${chosen.join(',')}`);
  });
});
