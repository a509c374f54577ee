// End to end in real network namespaces: the built plugin, run in a fresh "node"
// namespace against a fake agent, wires a fresh "pod" namespace, and DEL undoes it.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hostIfnameFor } from './pod-network.js';
import { FakeAgent } from '@cilium-ts/agent/testing';
import { runPlugin } from './testing/run-plugin.js';

const skip = process.getuid?.() !== 0 && process.env.CI !== 'true' ? 'needs root' : false;
const nodeNs = `cts-cni-n${process.pid}`;
const podNs = `cts-cni-${process.pid}`;
const podNetns = `/var/run/netns/${podNs}`;

function ipJson<T>(ns: string, args: string[]): T[] {
  const out = execFileSync('ip', ['-n', ns, '-j', ...args], { encoding: 'utf8' });
  return out.trim() === '' ? [] : (JSON.parse(out) as T[]);
}

function linkExists(ns: string, name: string): boolean {
  try {
    execFileSync('ip', ['-n', ns, 'link', 'show', 'dev', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('cilium-cni in network namespaces', { skip }, () => {
  let agentState: FakeAgent;
  let dir: string;
  let conf: string;

  function env(command: string, containerId: string, extra: Record<string, string> = {}): Record<string, string> {
    return {
      CNI_COMMAND: command,
      CNI_CONTAINERID: containerId,
      CNI_NETNS: podNetns,
      CNI_IFNAME: 'eth0',
      CNI_PATH: '/opt/cni/bin',
      CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web-0',
      ...extra,
    };
  }

  before(async () => {
    for (const ns of [nodeNs, podNs]) execFileSync('ip', ['netns', 'add', ns]);
    dir = mkdtempSync(join(tmpdir(), 'cts-cni-'));
    agentState = await FakeAgent.start(join(dir, 'agent.sock'));
    conf = JSON.stringify({
      cniVersion: '1.0.0',
      name: 'cilium-ts',
      type: 'cilium-cni',
      'agent-socket': agentState.target,
      'agent-connect-timeout': 2,
      'log-file': join(dir, 'cni.log'),
      runtimeConfig: { labels: { app: 'web', 'container:role': 'frontend' } },
      args: { cni: { labels: [{ key: 'tier', value: 'edge' }] } },
    });
  });

  after(async () => {
    agentState?.stop();
    for (const ns of [podNs, nodeNs]) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('ADD wires the pod, registers the endpoint and prints the result; CHECK passes; DEL undoes it twice over', async () => {
    const cid = `cts-add-${process.pid}`;
    const host = hostIfnameFor(cid);
    const add = await runPlugin(env('ADD', cid), conf, nodeNs);
    assert.equal(add.exitCode, 0, `${add.stdout}\n${add.stderr}`);
    const result = add.json as {
      cniVersion: string;
      interfaces: Array<{ name: string; mac: string; sandbox?: string }>;
      ips: Array<{ address: string; gateway: string; interface: number }>;
      routes: Array<{ dst: string; gw?: string }>;
    };
    assert.equal(result.cniVersion, '1.0.0');
    assert.equal(result.interfaces[0]!.name, host);
    assert.equal(result.interfaces[1]!.name, 'eth0');
    assert.equal(result.interfaces[1]!.sandbox, podNetns);
    assert.deepEqual(result.ips, [{ address: '10.200.0.2/32', gateway: '10.200.0.1', interface: 1 }]);
    assert.deepEqual(result.routes, [{ dst: '0.0.0.0/0', gw: '10.200.0.1' }]);

    // Pod side: eth0 up with the /32, routes to the gateway.
    const podLink = ipJson<{ address: string; flags: string[] }>(podNs, ['link', 'show', 'dev', 'eth0'])[0]!;
    assert.ok(podLink.flags.includes('UP'));
    assert.equal(podLink.address, result.interfaces[1]!.mac);
    const addrs = ipJson<{ addr_info: Array<{ family: string; local: string; prefixlen: number }> }>(podNs, ['addr', 'show', 'dev', 'eth0'])[0]!;
    assert.ok(addrs.addr_info.some((a) => a.family === 'inet' && a.local === '10.200.0.2' && a.prefixlen === 32));
    const routes = ipJson<{ dst: string; gateway?: string; scope?: string }>(podNs, ['route', 'show']);
    assert.ok(routes.some((r) => r.dst === '10.200.0.1' && r.scope === 'link'), JSON.stringify(routes));
    assert.ok(routes.some((r) => r.dst === 'default' && r.gateway === '10.200.0.1'), JSON.stringify(routes));

    // Node side: host veth up, proxy_arp, /32 route; nothing of it in the machine's own namespace.
    const hostLink = ipJson<{ address: string; flags: string[] }>(nodeNs, ['link', 'show', 'dev', host])[0]!;
    assert.ok(hostLink.flags.includes('UP'));
    assert.equal(hostLink.address, result.interfaces[0]!.mac);
    const proxyArp = execFileSync('ip', ['netns', 'exec', nodeNs, 'cat', `/proc/sys/net/ipv4/conf/${host}/proxy_arp`], { encoding: 'utf8' });
    assert.equal(proxyArp.trim(), '1');
    const nodeRoutes = ipJson<{ dst: string; dev: string }>(nodeNs, ['route', 'show', 'dev', host]);
    assert.ok(nodeRoutes.some((r) => r.dst === '10.200.0.2'), JSON.stringify(nodeRoutes));
    assert.equal(linkExists('', host), false);

    // The agent saw one endpoint with the namespace and pod labels, not the pod name.
    assert.equal(agentState.createRequests.length, 1);
    const req = agentState.createRequests[0]!;
    assert.deepEqual(req.labels, ['container:role=frontend', 'k8s:app=web', 'k8s:io.kubernetes.pod.namespace=shop', 'k8s:tier=edge']);
    assert.equal(req.hostIfname, host);
    assert.equal(req.ipv4, '10.200.0.2');
    assert.equal(req.podName, 'web-0');
    assert.equal(req.namespace, 'shop');
    assert.equal(req.mac, podLink.address);
    assert.equal(agentState.allocations.get('10.200.0.2'), cid);

    const check = await runPlugin(env('CHECK', cid), JSON.stringify({ ...JSON.parse(conf), prevResult: result }), nodeNs);
    assert.equal(check.exitCode, 0, check.stdout);

    const del = await runPlugin(env('DEL', cid), conf, nodeNs);
    assert.equal(del.exitCode, 0, del.stdout);
    assert.equal(del.stdout, '');
    assert.equal(linkExists(nodeNs, host), false);
    assert.equal(linkExists(podNs, 'eth0'), false);
    assert.equal(agentState.endpoints.size, 0);
    assert.equal(agentState.allocations.size, 0);

    const again = await runPlugin(env('DEL', cid, { CNI_NETNS: '' }), conf, nodeNs);
    assert.equal(again.exitCode, 0, again.stdout);

    const checkGone = await runPlugin(env('CHECK', cid), JSON.stringify({ ...JSON.parse(conf), prevResult: result }), nodeNs);
    assert.equal(checkGone.json?.code, 102, checkGone.stdout);
  });

  it('an ADD whose CreateEndpoint fails leaves no veth and releases the address', async () => {
    const cid = `cts-fail-${process.pid}`;
    agentState.failCreate = 'policy computation failed';
    try {
      const add = await runPlugin(env('ADD', cid), conf, nodeNs);
      assert.notEqual(add.exitCode, 0);
      assert.equal(add.json?.code, 100, add.stdout);
      assert.match(String(add.json?.msg), /policy computation failed/);
    } finally {
      agentState.failCreate = undefined;
    }
    assert.equal(agentState.createRequests.at(-1)?.containerId, cid);
    assert.equal(linkExists(nodeNs, hostIfnameFor(cid)), false);
    assert.equal(linkExists(podNs, 'eth0'), false);
    assert.equal(agentState.allocations.size, 0);
    assert.equal(agentState.endpoints.size, 0);
  });

  it('GC removes endpoints, veths and addresses of containers that are no longer valid', async () => {
    const keep = `cts-keep-${process.pid}`;
    const stale = `cts-stale-${process.pid}`;
    const podNs2 = `${podNs}b`;
    execFileSync('ip', ['netns', 'add', podNs2]);
    try {
      assert.equal((await runPlugin(env('ADD', keep), conf, nodeNs)).exitCode, 0);
      assert.equal((await runPlugin(env('ADD', stale, { CNI_NETNS: `/var/run/netns/${podNs2}` }), conf, nodeNs)).exitCode, 0);
      const gcConf = JSON.stringify({ ...JSON.parse(conf), cniVersion: '1.1.0', 'cni.dev/valid-attachments': [{ containerID: keep, ifname: 'eth0' }] });
      const gc = await runPlugin({ CNI_COMMAND: 'GC', CNI_PATH: '/opt/cni/bin' }, gcConf, nodeNs);
      assert.equal(gc.exitCode, 0, gc.stdout);
      assert.deepEqual([...agentState.endpoints.keys()], [keep]);
      assert.deepEqual([...agentState.allocations.values()], [keep]);
      assert.equal(linkExists(nodeNs, hostIfnameFor(stale)), false);
      assert.equal(linkExists(nodeNs, hostIfnameFor(keep)), true);
    } finally {
      await runPlugin(env('DEL', keep), conf, nodeNs);
      await runPlugin(env('DEL', stale), conf, nodeNs);
      execFileSync('ip', ['netns', 'del', podNs2]);
    }
    assert.equal(agentState.endpoints.size, 0);
  });

  it('accepts CNI_NETNS as /proc/<pid>/ns/net of an unnamed namespace', async () => {
    const holder = spawn('unshare', ['--net', 'sleep', '120'], { stdio: 'ignore' });
    try {
      const netns = `/proc/${holder.pid}/ns/net`;
      // unshare creates the namespace, then execs sleep: wait until the pid's namespace differs from ours.
      const own = execFileSync('readlink', ['/proc/self/ns/net'], { encoding: 'utf8' });
      for (let i = 0; i < 100 && execFileSync('readlink', [netns], { encoding: 'utf8' }) === own; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const cid = `cts-proc-${process.pid}`;
      const add = await runPlugin(env('ADD', cid, { CNI_NETNS: netns }), conf, nodeNs);
      assert.equal(add.exitCode, 0, add.stdout);
      const addr = execFileSync('nsenter', [`--net=${netns}`, 'ip', '-j', 'addr', 'show', 'dev', 'eth0'], { encoding: 'utf8' });
      const ip = (add.json as { ips: Array<{ address: string }> }).ips[0]!.address.split('/')[0];
      assert.ok(addr.includes(`"local":"${ip}"`), addr);
      assert.equal((await runPlugin(env('DEL', cid, { CNI_NETNS: netns }), conf, nodeNs)).exitCode, 0);
      assert.equal(linkExists(nodeNs, hostIfnameFor(cid)), false);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('DEL with the agent down still removes the veth and succeeds', async () => {
    const cid = `cts-down-${process.pid}`;
    assert.equal((await runPlugin(env('ADD', cid), conf, nodeNs)).exitCode, 0);
    const downConf = JSON.stringify({ ...JSON.parse(conf), 'agent-socket': `unix://${join(dir, 'none.sock')}`, 'agent-connect-timeout': 0.3 });
    const del = await runPlugin(env('DEL', cid), downConf, nodeNs);
    assert.equal(del.exitCode, 0, del.stdout);
    assert.equal(linkExists(nodeNs, hostIfnameFor(cid)), false);
    // The agent still has the endpoint; the real DEL (agent back) cleans it up.
    assert.equal(agentState.endpoints.has(cid), true);
    assert.equal((await runPlugin(env('DEL', cid), conf, nodeNs)).exitCode, 0);
    assert.equal(agentState.endpoints.size, 0);
    assert.equal(agentState.allocations.size, 0);
  });

  it('dual-stack: ADD sets both families, the pod reaches both routers (proxy ARP/NDP), DEL releases both', async () => {
    const cid = `cts-dual-${process.pid}`;
    const host = hostIfnameFor(cid);
    // The node's cilium_host with both router addresses, as the agent sets it up.
    const inNode = (...args: string[]) => execFileSync('ip', ['-n', nodeNs, ...args]);
    inNode('link', 'add', 'cilium_host', 'type', 'veth', 'peer', 'name', 'cilium_net');
    inNode('addr', 'add', '10.200.0.1/32', 'dev', 'cilium_host');
    inNode('-6', 'addr', 'add', 'fd00:10:200::1/128', 'dev', 'cilium_host', 'nodad');
    inNode('link', 'set', 'cilium_net', 'up');
    inNode('link', 'set', 'cilium_host', 'up');
    execFileSync('ip', ['netns', 'exec', nodeNs, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.forwarding=1', 'net.ipv4.ip_forward=1']);
    agentState.ipv6Pool = true;
    try {
      const add = await runPlugin(env('ADD', cid), conf, nodeNs);
      assert.equal(add.exitCode, 0, `${add.stdout}\n${add.stderr}`);
      const result = add.json as { ips: Array<{ address: string; gateway: string; interface: number }>; routes: Array<{ dst: string; gw?: string }> };
      assert.deepEqual(result.ips, [
        { address: '10.200.0.2/32', gateway: '10.200.0.1', interface: 1 },
        { address: 'fd00:10:200::2/128', gateway: 'fd00:10:200::1', interface: 1 },
      ]);
      assert.deepEqual(result.routes, [
        { dst: '0.0.0.0/0', gw: '10.200.0.1' },
        { dst: '::/0', gw: 'fd00:10:200::1' },
      ]);
      assert.equal(agentState.createRequests.at(-1)?.ipv6, 'fd00:10:200::2');
      assert.equal(agentState.allocations.get('fd00:10:200::2'), cid);

      const addrs = ipJson<{ addr_info: Array<{ family: string; local: string; prefixlen: number }> }>(podNs, ['addr', 'show', 'dev', 'eth0'])[0]!;
      assert.ok(addrs.addr_info.some((a) => a.family === 'inet6' && a.local === 'fd00:10:200::2' && a.prefixlen === 128), JSON.stringify(addrs));
      const routes6 = ipJson<{ dst: string; gateway?: string }>(podNs, ['-6', 'route', 'show']);
      assert.ok(routes6.some((r) => r.dst === 'default' && r.gateway === 'fd00:10:200::1'), JSON.stringify(routes6));
      const hostRoutes6 = ipJson<{ dst: string }>(nodeNs, ['-6', 'route', 'show', 'dev', host]);
      assert.ok(hostRoutes6.some((r) => r.dst === 'fd00:10:200::2'), JSON.stringify(hostRoutes6));

      // The routers answer: ARP through proxy_arp, NDP through the proxy entry on the host veth.
      const ping = (addr: string) => execFileSync('ip', ['netns', 'exec', podNs, 'ping', '-c', '1', '-W', '3', addr], { encoding: 'utf8' });
      assert.match(ping('10.200.0.1'), /1 received/);
      assert.match(ping('fd00:10:200::1'), /1 received/);

      const check = await runPlugin(env('CHECK', cid), JSON.stringify({ ...JSON.parse(conf), prevResult: result }), nodeNs);
      assert.equal(check.exitCode, 0, check.stdout);

      const del = await runPlugin(env('DEL', cid), conf, nodeNs);
      assert.equal(del.exitCode, 0, del.stdout);
      assert.equal(agentState.allocations.size, 0);
      assert.equal(linkExists(nodeNs, host), false);
    } finally {
      agentState.ipv6Pool = false;
      await runPlugin(env('DEL', cid), conf, nodeNs);
      inNode('link', 'del', 'cilium_host');
    }
  });

  it('dual-stack: an ADD whose CreateEndpoint fails releases both addresses and leaves no veth', async () => {
    const cid = `cts-dualfail-${process.pid}`;
    agentState.ipv6Pool = true;
    agentState.failCreate = 'policy computation failed';
    try {
      const add = await runPlugin(env('ADD', cid), conf, nodeNs);
      assert.equal(add.json?.code, 100, add.stdout);
      assert.equal(agentState.createRequests.at(-1)?.ipv6, 'fd00:10:200::2');
    } finally {
      agentState.failCreate = undefined;
      agentState.ipv6Pool = false;
    }
    assert.equal(agentState.allocations.size, 0);
    assert.equal(linkExists(nodeNs, hostIfnameFor(cid)), false);
  });
});
