// tcx links: attach, re-attach without reload, traffic enforcement, detach. tcx links are
// created by ifindex in the caller's namespace, so the Datapath calls run in a child
// Node process started inside the node namespace (nsenter: `ip netns exec` remounts
// /sys, hiding bpffs).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { Datapath } from './datapath.js';
import { PodLab } from './testing/pod-lab.js';
import { tcxSupported } from './tcx-attach.js';
import { needsRoot, uniqueName } from './testing/test-support.js';
import { tcpConnect } from './testing/netns-connect.js';

const pid = process.pid;
const name = uniqueName('tcx');
const pods = {
  a: { ns: `${name}-a`, ip: '10.209.0.2', ip6: 'fd09::2', host: `lxa${pid}`, id: 41, identity: 4001 },
  b: { ns: `${name}-b`, ip: '10.209.0.3', ip6: 'fd09::3', host: `lxb${pid}`, id: 42, identity: 4002 },
};
const pinDir = `/sys/fs/bpf/${name}`;
const index = new URL('./index.js', import.meta.url).href;

/** Runs Datapath calls in the node namespace; resolves the JSON the script prints. */
function inNode(lab: PodLab, body: string): Promise<unknown> {
  const script = `import { Datapath, linkIfindex } from '${index}';
const dp = await Datapath.open({ pinDir: '${pinDir}' });
const pods = ${JSON.stringify(pods)};
const spec = async (k, enforced) => ({ id: pods[k].id, identity: pods[k].identity, hostIfname: pods[k].host,
  hostIfindex: await linkIfindex({ ifname: pods[k].host }), ipv4: pods[k].ip, ingressEnforced: enforced, egressEnforced: false });
const policy = [{ direction: 'ingress', identity: pods.a.identity, protocol: 6, port: 8080, deny: false }];
const out = {};
${body}
dp.close();
console.log(JSON.stringify(out));`;
  return new Promise((resolve, reject) => {
    execFile('nsenter', [`--net=${lab.nodeNetns}`, '--', process.execPath, '--input-type=module', '-e', script], { timeout: 20000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}: ${stderr}`, { cause: err }));
      else resolve(JSON.parse(stdout.trim().split('\n').pop()!));
    });
  });
}


describe('tcx attach (kernel >= 6.6), feature-probed', { skip: needsRoot.skip || (tcxSupported() ? false : 'kernel without tcx') }, () => {
  let lab: PodLab | undefined;
  let server: ChildProcess | undefined;

  before(async () => {
    Datapath.removePins(pinDir);
    lab = PodLab.create(`${name}-n`, { v4: '10.209.0.1', v6: 'fd09::1' }, pods);
    server = spawn('ip', ['netns', 'exec', pods.b.ns, process.execPath, '-e',
      `const net=require('net');let n=0;for(const p of [8080,8081])net.createServer((s)=>s.end()).listen(p,()=>{if(++n===2)console.log('up')})`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => server!.stdout!.once('data', () => resolve()));
  });
  after(() => {
    server?.kill('SIGKILL');
    lab?.destroy();
    Datapath.removePins(pinDir);
  });

  test('attaches through pinned tcx links that outlive the process and enforce policy', async () => {
    const r = (await inNode(lab!, `
dp.ipcacheUpsert(pods.a.ip + '/32', pods.a.identity);
out.a = await dp.attachEndpoint(await spec('a', false), []);
out.b = await dp.attachEndpoint(await spec('b', true), policy);
out.ids = await dp.attachedProgramIds({ id: pods.b.id, hostIfname: pods.b.host });
out.pinned = dp.pinnedProgram(pods.b.id, 'to-container').id;`)) as { a: unknown; b: unknown; ids: { mode: string; ingress: number; egress: number }; pinned: number };
    assert.deepEqual([r.a, r.b], [{ reattached: true }, { reattached: true }]);
    assert.equal(r.ids.mode, 'tcx');
    assert.equal(r.ids.egress, r.pinned, 'the tcx egress link runs the pinned to-container program');
    const tcFilters = spawnSync('ip', ['netns', 'exec', lab!.node, 'tc', 'filter', 'show', 'dev', pods.b.host, 'egress'], { encoding: 'utf8' }).stdout;
    assert.equal(tcFilters.trim(), '', 'no clsact filter is used');
    assert.equal(await tcpConnect(pods.a.ns, pods.b.ip, 8080), 'connected');
    assert.equal(await tcpConnect(pods.a.ns, pods.b.ip, 8081), 'timeout');
  });

  test('a second process finds the programs current and re-attaches nothing; a new identity updates the link in place', async () => {
    const r = (await inNode(lab!, `
const before = await dp.attachedProgramIds({ id: pods.b.id, hostIfname: pods.b.host });
out.same = await dp.attachEndpoint(await spec('b', true), policy);
out.kept = (await dp.attachedProgramIds({ id: pods.b.id, hostIfname: pods.b.host })).egress === before.egress;
out.changed = await dp.attachEndpoint({ ...(await spec('b', true)), identity: pods.b.identity + 1 }, policy);
out.replaced = (await dp.attachedProgramIds({ id: pods.b.id, hostIfname: pods.b.host })).egress !== before.egress;`)) as Record<string, unknown>;
    assert.deepEqual(r, { same: { reattached: false }, kept: true, changed: { reattached: true }, replaced: true });
    assert.equal(await tcpConnect(pods.a.ns, pods.b.ip, 8081), 'timeout', 'still enforced after the link update');
  });

  test('detach removes the links and traffic flows unfiltered', async () => {
    const r = (await inNode(lab!, `
for (const k of ['a', 'b']) await dp.detachEndpoint({ id: pods[k].id, hostIfname: pods[k].host });
out.ids = await dp.attachedProgramIds({ id: pods.b.id, hostIfname: pods.b.host });`)) as { ids: Record<string, unknown> };
    assert.deepEqual(r.ids, { mode: 'tcx' });
    assert.equal(await tcpConnect(pods.a.ns, pods.b.ip, 8081), 'connected');
  });
});
