// Maglev backend selection at the socket on the real kernel (--bpf-lb-algorithm maglev):
// UDP clients bound to fixed source ports (the flow keys) in a test netns and cgroup ask a
// ClusterIP in front of ten backends which backend they reached. The same keys always
// reach the same backend; removing one of ten backends moves about a tenth of the keys
// (the ones it had, plus Maglev's small disruption); random selection, in the same run,
// moves most of them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ServiceValidationError, type Service } from '@cilium-ts/loadbalancer';
import { cgroup2Root } from './cgroup2.js';
import { Datapath } from './datapath.js';
import { DatapathInputError } from './errors.js';
import { maglevBackendIds } from './maglev-tables.js';
import { SocketLb } from './sock-lb.js';
import { needsRoot, createSockLbFixture, removeSockLbFixture, spawnInNetns, uniqueName, untilListening } from './testing/test-support.js';

const name = uniqueName('maglev');
const ns = name;
const cgroupRoot = needsRoot.skip === false ? cgroup2Root() : '/sys/fs/cgroup';
const cgroup = `${cgroupRoot}/${name}`;
const pinDir = `/sys/fs/bpf/${name}`;
const backends = Array.from({ length: 10 }, (_, i) => `10.245.0.${i + 1}`);
const clientIp = '10.245.1.1';
const vip = '10.96.0.20';
/** Flow keys: source ports first .. first+KEYS-1 of clientIp. */
const KEYS = 600;

const svc = (bes: readonly string[]): Service => ({
  id: 7,
  frontend: { ip: vip, port: 53, protocol: 'UDP' },
  type: 'ClusterIP',
  trafficPolicy: 'Cluster',
  backends: bes.map((ip) => ({ ip, port: 5353, weight: 1, state: 'active' })),
});

// One UDP exchange per source port (bound to clientIp:port, so the hook sees the flow key);
// prints the backend each reached (its reply names it).
const clientScript = `const [host,port,first,n,src]=process.argv.slice(1);const dgram=require('dgram');const out=[];let i=0;
const next=()=>{if(i>=+n){console.log(JSON.stringify(out));process.exit(0)}const p=+first+i++;const s=dgram.createSocket('udp4');
const t=setTimeout(()=>{out.push('timeout');s.close();next()},2000);s.on('error',(e)=>{clearTimeout(t);out.push(e.code);s.close();next()});
s.on('message',(m)=>{clearTimeout(t);out.push(String(m));s.close();next()});s.bind(p,src,()=>s.send('x',+port,host))};next()`;

function reach(first = 20000, n = KEYS): Promise<string[]> {
  const cmd = ['sh', '-c', `echo $$ > ${cgroup}/cgroup.procs && exec ip netns exec ${ns} "$@"`, 'client', process.execPath, '-e', clientScript, vip, '53', String(first), String(n), clientIp];
  return new Promise((resolve, reject) => {
    execFile(cmd[0]!, cmd.slice(1), { timeout: 120_000, maxBuffer: 1 << 22 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}: ${stderr}`));
      else resolve(JSON.parse(stdout.trim()) as string[]);
    });
  });
}

const moved = (a: readonly string[], b: readonly string[]): number => a.filter((x, i) => x !== b[i]).length;

test('bad configuration: a table size that is not one of the primes, an unknown algorithm', () => {
  assert.throws(() => SocketLb.open({ pinDir: '/nonexistent', algorithm: 'maglev', maglevTableSize: 1000 }), (e: Error) => e instanceof ServiceValidationError && /maglev table size|1000 is not a supported/.test(e.message));
  assert.throws(() => SocketLb.open({ pinDir: '/nonexistent', algorithm: 'roundrobin' as 'random' }), DatapathInputError);
  assert.equal(existsSync('/nonexistent'), false, 'nothing was created');
});

test('maglevBackendIds: every slot holds an active backend id; weights share the slots', () => {
  const ids = maglevBackendIds([{ id: 5, key: 'a:1', weight: 1 }, { id: 9, key: 'b:1', weight: 3 }], 251);
  assert.ok(ids.every((v) => v === 5 || v === 9));
  const nine = ids.filter((v) => v === 9).length;
  assert.ok(nine > 170 && nine < 200, `weight 3 of 4 takes about 3/4 of 251 slots: ${nine}`);
});

describe('Maglev at the socket (real kernel)', needsRoot, () => {
  let dp: Datapath | undefined;
  let lb: SocketLb | undefined;
  let servers: ChildProcess | undefined;

  before(async () => {
    dp = await createSockLbFixture({ pinDir, ns, cgroup, addresses: [...backends, clientIp] });
    const serverScript = `const dgram=require('dgram');let n=0;for(const ip of ${JSON.stringify(backends)}){const u=dgram.createSocket('udp4');
u.on('message',(m,r)=>u.send(ip,r.port,r.address));u.bind(5353,ip,()=>{if(++n===${backends.length})console.log('listening')})}`;
    servers = spawnInNetns(ns, serverScript);
    await untilListening(servers);
  });

  after(() => removeSockLbFixture({ servers, lb, dp, pinDir, ns, cgroup, removePins: (d) => Datapath.removePins(d) }));

  test('the same flow keys reach the same backends; removing one of ten backends moves about a tenth of the keys; random moves most', async () => {
    lb = SocketLb.open({ pinDir, algorithm: 'maglev' });
    assert.equal(lb.maglevTableSize, 16381, "Cilium's default table size");
    lb.attachCgroup(cgroup);
    lb.upsertService(svc(backends));
    const table = lb.maglevTable(7);
    assert.equal(table?.length, 16381);
    assert.equal(new Set(table).size, 10, 'every backend owns slots');

    const first = await reach();
    assert.deepEqual(first.filter((b) => !backends.includes(b)), [], 'every key reached a backend');
    assert.equal(new Set(first).size, 10, 'the keys spread over all ten backends');
    const again = await reach();
    assert.equal(moved(first, again), 0, 'the same keys chose the same backends');

    const removed = backends[3]!;
    lb.upsertService(svc(backends.filter((b) => b !== removed)));
    const after = await reach();
    assert.equal(after.includes(removed), false, 'the removed backend gets nothing');
    const had = first.filter((b) => b === removed).length;
    const others = first.filter((b, i) => b !== removed && after[i] !== b).length;
    const share = moved(first, after) / KEYS;
    // The keys of the removed backend (about 1/10) must move; Maglev moves few others.
    assert.ok(share >= had / KEYS && share < 0.2, `moved ${(share * 100).toFixed(1)}% (removed backend had ${had}, others moved ${others})`);
    assert.ok(others / KEYS < 0.05, `keys of remaining backends moved: ${others} of ${KEYS}`);
    process.stdout.write(`# maglev: removing 1 of 10 backends moved ${(share * 100).toFixed(1)}% of ${KEYS} flow keys (${had} on the removed backend, ${others} others)\n`);

    // Baseline in the same run: random selection of the same keys.
    lb.close();
    lb = SocketLb.open({ pinDir, algorithm: 'random' });
    lb.upsertService(svc(backends));
    const random = await reach();
    const randomShare = moved(first, random) / KEYS;
    assert.ok(randomShare > 0.6, `random selection moves most keys: ${(randomShare * 100).toFixed(1)}%`);
    assert.equal(lb.maglevTable(7), undefined, 'random drops the service\'s table');
    process.stdout.write(`# random: the same keys landed elsewhere ${(randomShare * 100).toFixed(1)}% of the time\n`);
  });
});
