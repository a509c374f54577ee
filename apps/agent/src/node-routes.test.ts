import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { NodeNetns } from './netns.js';
import { NodeRoutes, parseRoutingMode, RoutingModeError, ROUTE_PROTO } from './node-routes.js';
import { removeVxlan, setupVxlan, VXLAN_IFNAME } from './node-setup.js';

const skip = process.getuid?.() !== 0 && process.env.CI !== 'true' ? 'needs root' : false;

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

  test('tunnel mode installs no routes to other nodes and prunes those of an earlier native run', async () => {
    ip('route', 'replace', '10.9.70.0/24', 'via', '192.168.77.70', 'proto', String(ROUTE_PROTO));
    const r = new NodeRoutes(ns, 'n1', '10.9.1.0/24', () => undefined, 'tunnel');
    await r.upsert({ name: 'n7', ipv4: '192.168.77.7', podCIDR: '10.9.7.0/24' });
    assert.deepEqual(r.list(), []);
    await r.pruneStale();
    assert.deepEqual((await r.installed()).filter((d) => d.startsWith('10.9.7') || d.startsWith('10.9.70')), []);
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
