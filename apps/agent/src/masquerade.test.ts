// Masquerading in a node namespace on the real kernel: a pod namespace behind a node
// namespace, and a server outside (its own namespace on the node's device) that answers
// with the peer address it sees. It can route back to the pod CIDR, so without the rule it
// sees the pod; with it, the node's address; a native routing CIDR that covers the server
// keeps the pod's address. Nothing outside these namespaces is touched.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { needsRoot, uniqueName } from '@cilium-ts/bpf/testing';
import { applyMasquerade, MASQUERADE_CHAIN, removeMasquerade } from './masquerade.js';
import { NodeNetns } from './netns.js';

const name = uniqueName('masq');
const nodeNs = `${name}-n`;
const podNs = `${name}-p`;
const extNs = `${name}-e`;
const podIp = '10.200.1.10';
const nodeIp = '192.168.201.1';
const extIp = '192.168.201.200';

const serverScript = `require('net').createServer(s=>{s.on('error',()=>{});s.end(s.remoteAddress)}).listen(8080,'0.0.0.0',()=>console.log('ready'))`;
const clientScript = `const c=require('net').connect({host:process.argv[1],port:8080});let d='';c.on('data',x=>d+=x);c.on('end',()=>console.log(d));c.on('error',e=>console.log(e.code))`;

const ipn = (ns: string, ...a: string[]): void => void execFileSync('ip', ['-n', ns, ...a]);

/** The address the outside server saw for a connection from the pod. */
function peerSeen(): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ip', ['netns', 'exec', podNs, process.execPath, '-e', clientScript, extIp], { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}: ${stderr}`));
      else resolve(stdout.trim());
    });
  });
}

const natRules = (): string => execFileSync('ip', ['netns', 'exec', nodeNs, 'iptables-save', '-t', 'nat'], { encoding: 'utf8' });

describe('masquerading (iptables in the node namespace)', needsRoot, () => {
  const netns = new NodeNetns(`/run/netns/${nodeNs}`);
  let server: ChildProcess | undefined;

  const cleanup = (): void => {
    server?.kill('SIGKILL');
    for (const ns of [podNs, extNs, nodeNs]) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  };

  before(async () => {
    cleanup();
    try {
      for (const ns of [nodeNs, podNs, extNs]) execFileSync('ip', ['netns', 'add', ns]);
      ipn(nodeNs, 'link', 'add', 'lxc', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', podNs);
      ipn(nodeNs, 'link', 'add', 'node0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', extNs);
      ipn(nodeNs, 'addr', 'add', '10.200.1.1/24', 'dev', 'lxc');
      ipn(nodeNs, 'addr', 'add', `${nodeIp}/24`, 'dev', 'node0');
      for (const d of ['lo', 'lxc', 'node0']) ipn(nodeNs, 'link', 'set', d, 'up');
      ipn(podNs, 'addr', 'add', `${podIp}/24`, 'dev', 'eth0');
      ipn(extNs, 'addr', 'add', `${extIp}/24`, 'dev', 'eth0');
      for (const ns of [podNs, extNs]) for (const d of ['lo', 'eth0']) ipn(ns, 'link', 'set', d, 'up');
      ipn(podNs, 'route', 'add', 'default', 'via', '10.200.1.1');
      ipn(extNs, 'route', 'add', '10.200.1.0/24', 'via', nodeIp);
      await netns.sysctl('net.ipv4.ip_forward', '1');
      server = spawn('ip', ['netns', 'exec', extNs, process.execPath, '-e', serverScript], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve, reject) => {
        server!.stdout!.once('data', () => resolve());
        server!.once('exit', (code) => reject(new Error(`server exited ${code}`)));
      });
    } catch (err) {
      cleanup();
      throw err;
    }
  });

  after(cleanup);

  test('pod traffic to the outside leaves with the node address; the native routing CIDR keeps the pod address; applying again keeps one copy; removal restores', async () => {
    assert.equal(await peerSeen(), podIp, 'no rule: the outside sees the pod');
    const rule = { podCidr: '10.200.1.0/24', nativeRoutingCidr: '10.200.0.0/16', device: 'node0' };
    await applyMasquerade(netns, rule);
    assert.equal(await peerSeen(), nodeIp);
    // An agent restart applies again: one rule, one jump.
    await applyMasquerade(netns, rule);
    const rules = natRules().split('\n');
    assert.equal(rules.filter((l) => l.includes('-j MASQUERADE')).length, 1, rules.join('\n'));
    assert.equal(rules.filter((l) => l === `-A POSTROUTING -j ${MASQUERADE_CHAIN}`).length, 1, rules.join('\n'));
    // The server inside the range routed without NAT: not masqueraded.
    await applyMasquerade(netns, { ...rule, nativeRoutingCidr: '192.168.201.0/24' });
    assert.equal(await peerSeen(), podIp);
    await applyMasquerade(netns, rule);
    assert.equal(await peerSeen(), nodeIp);
    await removeMasquerade(netns);
    assert.ok(!natRules().includes(MASQUERADE_CHAIN), natRules());
    assert.equal(await peerSeen(), podIp);
    await removeMasquerade(netns);
  });
});
