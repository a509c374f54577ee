import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { NodeNetns } from './netns.js';
import { HOST_TUNNEL_RULE_PREF, HOST_TUNNEL_TABLE, NodeRoutes, parseRoutingMode, RoutingModeError, ROUTE_PROTO, routerOf } from './node-routes.js';
import { removeVxlan, setupNode, setupVxlan, VXLAN_IFNAME } from './node-setup.js';

const skip = process.getuid?.() !== 0 && process.env.CI !== 'true' ? 'needs root' : false;

test('the router of a pod CIDR is its first address after the base', () => {
  assert.equal(routerOf('10.200.1.0/24'), '10.200.1.1');
  assert.equal(routerOf('fd00:10:200::100/120'), 'fd00:10:200::101');
});

test('routing mode: native and tunnel are accepted; unknown modes fail naming the alternatives', () => {
  assert.equal(parseRoutingMode('native'), 'native');
  assert.equal(parseRoutingMode('tunnel'), 'tunnel');
  assert.throws(() => parseRoutingMode('geneve'), (e: unknown) => e instanceof RoutingModeError && /not one of native, tunnel/.test(e.message));
});

describe('NodeRoutes in a network namespace', { skip }, () => {
  const name = `cts-routes-${process.pid}`;
  const ns = new NodeNetns(`/run/netns/${name}`);
  const ip = (...args: string[]): string => execFileSync('ip', ['-n', name, ...args], { encoding: 'utf8' });

  before(() => {
    execFileSync('ip', ['netns', 'add', name]);
    // A veth inside the namespace stands in for the node's link to the fabric.
    ip('link', 'add', 'node0', 'type', 'veth', 'peer', 'name', 'peer0');
    ip('addr', 'add', '192.168.77.1/24', 'dev', 'node0');
    ip('addr', 'add', 'fd00:77::1/64', 'dev', 'node0', 'nodad');
    ip('link', 'set', 'node0', 'up');
    ip('link', 'set', 'peer0', 'up');
  });
  after(() => {
    execFileSync('ip', ['netns', 'delete', name]);
  });

  test('installs, moves and removes routes to other nodes; ignores itself and incomplete nodes', async () => {
    const r = new NodeRoutes(ns, 'n1', '10.9.1.0/24', () => undefined);
    await r.upsert({ name: 'n1', ipv4: '192.168.77.1', podCIDR: '10.9.1.0/24' });
    await r.upsert({ name: 'n2', ipv4: '192.168.77.2', podCIDR: '10.9.2.0/24' });
    await r.upsert({ name: 'n3', ipv4: '192.168.77.3' });
    assert.deepEqual(await r.installed(), ['10.9.2.0/24']);
    assert.match(ip('route', 'show', '10.9.2.0/24'), /via 192\.168\.77\.2 dev node0 proto 193/);

    await r.upsert({ name: 'n3', ipv4: '192.168.77.3', podCIDR: '10.9.3.0/24' });
    await r.upsert({ name: 'n2', ipv4: '192.168.77.22', podCIDR: '10.9.2.0/24' });
    assert.match(ip('route', 'show', '10.9.2.0/24'), /via 192\.168\.77\.22 /);
    await r.upsert({ name: 'n3', ipv4: '192.168.77.3', podCIDR: '10.9.33.0/24' });
    assert.deepEqual(await r.installed(), ['10.9.2.0/24', '10.9.33.0/24']);

    await r.delete('n2');
    await r.delete('n2');
    assert.deepEqual(await r.installed(), ['10.9.33.0/24']);
    assert.deepEqual(r.list().map((x) => x.node), ['n3']);
  });

  test('prunes routes of ours that no node accounts for, and leaves other routes alone', async () => {
    ip('route', 'replace', '10.9.50.0/24', 'via', '192.168.77.50', 'proto', String(ROUTE_PROTO));
    ip('route', 'replace', '10.9.60.0/24', 'via', '192.168.77.60');
    const r = new NodeRoutes(ns, 'n1', '10.9.1.0/24', () => undefined);
    await r.upsert({ name: 'n3', ipv4: '192.168.77.3', podCIDR: '10.9.33.0/24' });
    assert.equal(await r.pruneStale(), 1);
    assert.deepEqual(await r.installed(), ['10.9.33.0/24']);
    assert.match(ip('route', 'show', '10.9.60.0/24'), /via 192\.168\.77\.60/);
  });

  test('tunnel mode: pods get no routes (native ones are pruned); the node\'s own traffic goes through cilium_vxlan', async () => {
    ip('route', 'replace', '10.9.70.0/24', 'via', '192.168.77.70', 'proto', String(ROUTE_PROTO));
    // Our router addresses (the source of the node's own traffic) are on cilium_host.
    await setupNode(ns, '10.9.1.1', 'fd00:9::101');
    await setupVxlan(ns);
    try {
      const r = new NodeRoutes(ns, 'n1', ['10.9.1.0/24', 'fd00:9::100/120'], () => undefined, 'tunnel');
      await r.upsert({ name: 'n7', ipv4: '192.168.77.7', podCIDR: '10.9.7.0/24', ipv6: 'fd00:77::7', podCIDRv6: 'fd00:9::700/120' });
      await r.pruneStale();
      // Main table: no pod CIDR, only the remote router (cilium_host) for remote pods' replies.
      assert.deepEqual((await r.installed()).filter((d) => d.startsWith('10.9.') || d.startsWith('fd00:9:')), ['10.9.7.1', 'fd00:9::701']);
      assert.deepEqual(await r.installedHostTunnel(), ['10.9.7.0/24', 'fd00:9::700/120']);
      // Kernel VXLAN encapsulation to the node's IPv4 with VNI 6 (remote-node), from our router address.
      assert.match(ip('route', 'show', 'table', String(HOST_TUNNEL_TABLE)), /^10\.9\.7\.0\/24 +encap ip id 6 src 0\.0\.0\.0 dst 192\.168\.77\.7 .*dev cilium_vxlan proto 193 scope link src 10\.9\.1\.1 mtu 1450/m);
      assert.match(ip('-6', 'route', 'show', 'table', String(HOST_TUNNEL_TABLE)), /^fd00:9::700\/120 +encap ip id 6 .*dst 192\.168\.77\.7 .*dev cilium_vxlan proto 193 src fd00:9::101 /m);
      // Only locally generated packets consult table 193 (forwarded pod traffic never does).
      for (const f of ['-4', '-6']) assert.match(ip(f, 'rule', 'show'), new RegExp(`^${HOST_TUNNEL_RULE_PREF}:\\s+from all iif lo lookup ${HOST_TUNNEL_TABLE}`, 'm'));
      assert.match(ip('route', 'get', '10.9.7.5'), /encap ip id 6 .*dst 192\.168\.77\.7 .*dev cilium_vxlan table 193 src 10\.9\.1\.1/);
      assert.throws(() => execFileSync('ip', ['-n', name, 'route', 'get', '10.9.7.5', 'from', '10.9.1.9', 'iif', 'node0'], { stdio: 'pipe' }), /unreachable/i, 'forwarded traffic has no route through cilium_vxlan');
      // A second manager (a restarted agent) finds everything in place and prunes nothing.
      const again = new NodeRoutes(ns, 'n1', ['10.9.1.0/24', 'fd00:9::100/120'], () => undefined, 'tunnel');
      await again.upsert({ name: 'n7', ipv4: '192.168.77.7', podCIDR: '10.9.7.0/24', ipv6: 'fd00:77::7', podCIDRv6: 'fd00:9::700/120' });
      assert.equal(await again.pruneStale(), 0);
      assert.equal(ip('-4', 'rule', 'show', 'pref', String(HOST_TUNNEL_RULE_PREF)).trim().split('\n').length, 1, 'the rule is not duplicated');
      await again.delete('n7');
      assert.deepEqual(await again.installedHostTunnel(), []);
      assert.deepEqual((await again.installed()).filter((d) => d.startsWith('10.9.7') || d.startsWith('fd00:9::7')), []);
      // Native mode removes the rules of an earlier tunnel run.
      await new NodeRoutes(ns, 'n1', '10.9.1.0/24', () => undefined).pruneStale();
      assert.equal(ip('-4', 'rule', 'show', 'pref', String(HOST_TUNNEL_RULE_PREF)).trim(), '');
      assert.equal(ip('-6', 'rule', 'show', 'pref', String(HOST_TUNNEL_RULE_PREF)).trim(), '');
    } finally {
      await removeVxlan(ns);
    }
  });

  test('tunnel mode over an IPv6 underlay: the node\'s own traffic is encapsulated toward the node\'s IPv6 (encap ip6, MTU 1430)', async () => {
    await setupNode(ns, '10.9.1.1', 'fd00:9::101');
    await setupVxlan(ns);
    try {
      const r = new NodeRoutes(ns, 'n1', ['10.9.1.0/24', 'fd00:9::100/120'], () => undefined, 'tunnel', 'ipv6');
      await r.upsert({ name: 'n8', ipv4: '192.168.77.8', podCIDR: '10.9.8.0/24', ipv6: 'fd00:77::8', podCIDRv6: 'fd00:9::800/120' });
      assert.deepEqual(r.list().map((x) => `${x.family} ${x.via}`), ['4 fd00:77::8', '6 fd00:77::8']);
      assert.match(ip('route', 'show', 'table', String(HOST_TUNNEL_TABLE)), /^10\.9\.8\.0\/24 +encap ip6 id 6 src :: dst fd00:77::8 .* csum dev cilium_vxlan proto 193 scope link src 10\.9\.1\.1 mtu 1430/m);
      assert.match(ip('-6', 'route', 'show', 'table', String(HOST_TUNNEL_TABLE)), /^fd00:9::800\/120 +encap ip6 id 6 .*dst fd00:77::8 .*dev cilium_vxlan proto 193 src fd00:9::101 .*mtu 1430/m);
      assert.match(ip('route', 'show', '10.9.8.1'), /encap ip6 id 6 .*dst fd00:77::8 /, 'the replies\' route to the remote router too');
      // A node with no IPv6 address is reached over IPv4 (its cilium_vxlan listens on both).
      await r.upsert({ name: 'n8', ipv4: '192.168.77.8', podCIDR: '10.9.8.0/24' });
      assert.match(ip('route', 'show', 'table', String(HOST_TUNNEL_TABLE)), /^10\.9\.8\.0\/24 +encap ip id 6 src 0\.0\.0\.0 dst 192\.168\.77\.8 .*mtu 1450/m);
      await r.delete('n8');
      assert.deepEqual(await r.installedHostTunnel(), []);
    } finally {
      await new NodeRoutes(ns, 'n1', '10.9.1.0/24', () => undefined).pruneStale();
      await removeVxlan(ns);
    }
  });

  test('setupVxlan creates cilium_vxlan in collect-metadata mode (idempotent); removeVxlan deletes it', async () => {
    const ifindex = await setupVxlan(ns);
    assert.equal(await setupVxlan(ns), ifindex);
    const d = ip('-d', 'link', 'show', VXLAN_IFNAME);
    assert.match(d, /vxlan external .*dstport 8472/);
    assert.match(d, /state UNKNOWN|,UP/);
    await removeVxlan(ns);
    assert.equal(await ns.link(VXLAN_IFNAME), undefined);
  });

  test('dual-stack nodes get an IPv6 route via their IPv6 address, moved and removed with the node', async () => {
    const r = new NodeRoutes(ns, 'n1', ['10.9.1.0/24', 'fd00:9::100/120'], () => undefined);
    await r.upsert({ name: 'n1', ipv4: '192.168.77.1', podCIDR: '10.9.1.0/24', ipv6: 'fd00:77::1', podCIDRv6: 'fd00:9::100/120' });
    await r.upsert({ name: 'n4', ipv4: '192.168.77.4', podCIDR: '10.9.4.0/24', ipv6: 'fd00:77::4', podCIDRv6: 'fd00:9::400/120' });
    const installed = await r.installed();
    assert.ok(installed.includes('10.9.4.0/24') && installed.includes('fd00:9::400/120'), installed.join(' '));
    assert.ok(!installed.includes('fd00:9::100/120'), 'never a route to our own IPv6 pod CIDR');
    assert.match(ip('-6', 'route', 'show', 'fd00:9::400/120'), /via fd00:77::4 dev node0 proto 193/);
    assert.deepEqual(r.list().map((x) => `${x.node}/${x.family}`), ['n4/4', 'n4/6']);
    // The node loses its IPv6 address: only the IPv6 route goes.
    await r.upsert({ name: 'n4', ipv4: '192.168.77.4', podCIDR: '10.9.4.0/24' });
    assert.equal(ip('-6', 'route', 'show', 'fd00:9::400/120').trim(), '');
    await r.upsert({ name: 'n4', ipv4: '192.168.77.4', podCIDR: '10.9.4.0/24', ipv6: 'fd00:77::44', podCIDRv6: 'fd00:9::400/120' });
    assert.match(ip('-6', 'route', 'show', 'fd00:9::400/120'), /via fd00:77::44 /);
    await r.delete('n4');
    assert.equal(ip('-6', 'route', 'show', 'proto', String(ROUTE_PROTO)).trim(), '');
    assert.equal(ip('-4', 'route', 'show', '10.9.4.0/24').trim(), '');
  });
});
