import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { Datapath, type EndpointDatapathSpec } from './datapath.js';
import type { EventReader } from './event-reader.js';
import { DropReason, EventType, TracePoint } from './event-record.js';
import { linkIfindex, tcAttachedProgramId } from './tc-attach.js';
import { EventCollector, needsRoot, uniqueName } from './testing/test-support.js';
import { tcpConnect } from './testing/netns-connect.js';

// Two node namespaces on a fabric (a veth pair), one pod on each, VXLAN tunnel mode:
// each node has cilium_vxlan (external, dstport 8472) with from-overlay on its tc ingress.
// Node B's ipcache gives pod a's address a wrong identity on purpose: B must take the
// source identity from the VNI, so the policy at b (allow a's identity) still admits a.
// Run once over an IPv4 underlay and once over an IPv6 one (the ipcache host address
// and TunnelConfig.localIpv6 are IPv6; VXLAN over IPv6 with UDP checksums).
const pid = process.pid;
const WRONG_IDENTITY = 2999;

function sh(...argv: string[]): void {
  execFileSync(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Connects from ns to host:port; resolves 'connected', 'timeout' or 'error:<code>'. */

for (const underlay of [4, 6] as const) tunnelSuite(underlay);

function tunnelSuite(family: 4 | 6): void {
  const base = uniqueName(`tun${family}`);
  const addr = (i: 1 | 2): string => (family === 4 ? `10.203.0.${i}` : `fd03:203::${i}`);
  const nodes = {
    a: { ns: `${base}-na`, fabric: `f${family}a${pid}`, underlay: addr(1), router: '10.203.1.1' },
    b: { ns: `${base}-nb`, fabric: `f${family}b${pid}`, underlay: addr(2), router: '10.203.2.1' },
  };
  const pods = {
    a: { ns: `${base}-a`, ip: '10.203.1.2', host: `l${family}a${pid}`, id: 21, identity: 2001 },
    b: { ns: `${base}-b`, ip: '10.203.2.2', host: `l${family}b${pid}`, id: 22, identity: 2002 },
  };
  const allNs = [...Object.values(nodes), ...Object.values(pods)].map((n) => n.ns);
  /** This node's underlay address in TunnelConfig. */
  const local = (underlayIp: string): { localIpv4: string } | { localIpv6: string } => (family === 4 ? { localIpv4: underlayIp } : { localIpv6: underlayIp });

  describe(`tunnel mode (IPv${family} underlay): VXLAN between two nodes carries the source identity in the VNI`, needsRoot, () => {
    const dps: Partial<Record<'a' | 'b', Datapath>> = {};
    const specs: Partial<Record<'a' | 'b', EndpointDatapathSpec>> = {};
    let reader: EventReader | undefined;
    let readerA: EventReader | undefined;
    let eventsB: EventCollector;
    let eventsA: EventCollector;
    let server: ChildProcess | undefined;
    const pinDir = (k: string): string => `/sys/fs/bpf/${base}-${k}`;

    before(async () => {
      for (const ns of allNs) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      for (const k of ['a', 'b'] as const) Datapath.removePins(pinDir(k));
      for (const k of ['a', 'b'] as const) {
        const n = nodes[k];
        const p = pods[k];
        sh('ip', 'netns', 'add', n.ns);
        sh('ip', '-n', n.ns, 'link', 'set', 'lo', 'up');
        sh('ip', '-n', n.ns, 'addr', 'add', `${n.router}/32`, 'dev', 'lo');
        sh('ip', 'netns', 'exec', n.ns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
        sh('ip', 'netns', 'add', p.ns);
        sh('ip', '-n', n.ns, 'link', 'add', p.host, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', p.ns);
        sh('ip', '-n', n.ns, 'link', 'set', p.host, 'up');
        sh('ip', 'netns', 'exec', n.ns, 'sysctl', '-qw', `net.ipv4.conf.${p.host}.proxy_arp=1`, `net.ipv4.neigh.${p.host}.proxy_delay=0`);
        sh('ip', '-n', n.ns, 'route', 'add', `${p.ip}/32`, 'dev', p.host);
        sh('ip', '-n', p.ns, 'link', 'set', 'lo', 'up');
        sh('ip', '-n', p.ns, 'addr', 'add', `${p.ip}/32`, 'dev', 'eth0');
        sh('ip', '-n', p.ns, 'link', 'set', 'eth0', 'up');
        sh('ip', '-n', p.ns, 'route', 'add', n.router, 'dev', 'eth0', 'scope', 'link');
        sh('ip', '-n', p.ns, 'route', 'add', 'default', 'via', n.router);
      }
      sh('ip', '-n', nodes.a.ns, 'link', 'add', nodes.a.fabric, 'type', 'veth', 'peer', 'name', nodes.b.fabric, 'netns', nodes.b.ns);
      for (const n of Object.values(nodes)) {
        if (family === 4) sh('ip', '-n', n.ns, 'addr', 'add', `${n.underlay}/24`, 'dev', n.fabric);
        else {
          sh('ip', 'netns', 'exec', n.ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=0', 'net.ipv6.conf.default.disable_ipv6=0');
          sh('ip', '-n', n.ns, 'addr', 'add', `${n.underlay}/64`, 'dev', n.fabric, 'nodad');
        }
        sh('ip', '-n', n.ns, 'link', 'set', n.fabric, 'up');
        sh('ip', '-n', n.ns, 'link', 'add', 'cilium_vxlan', 'type', 'vxlan', 'external', 'dstport', '8472');
        sh('ip', '-n', n.ns, 'link', 'set', 'cilium_vxlan', 'up');
      }
      const script = `const net=require('net');let n=0;for(const port of [8080,8081])` +
        `net.createServer((s)=>{s.on('error',()=>{});s.end('hi')}).listen(port,'0.0.0.0',()=>{if(++n===2)console.log('listening')})`;
      server = spawn('ip', ['netns', 'exec', pods.b.ns, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve, reject) => {
        server!.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('listening')) resolve(); });
        server!.once('exit', (code) => reject(new Error(`test server exited with ${code}`)));
      });
      for (const k of ['a', 'b'] as const) {
        const n = nodes[k];
        const p = pods[k];
        const dp = await Datapath.open({ pinDir: pinDir(k), ctGcIntervalMs: 0 });
        dps[k] = dp;
        const netns = `/run/netns/${n.ns}`;
        dp.setTunnel({ ifindex: await linkIfindex({ ifname: 'cilium_vxlan', netns }), ...local(n.underlay) });
        await dp.attachOverlay({ ifname: 'cilium_vxlan', netns });
        dp.ipcacheUpsert(`${p.ip}/32`, p.identity, n.underlay);
        const spec: EndpointDatapathSpec = {
          id: p.id, identity: p.identity, hostIfname: p.host, hostIfindex: await linkIfindex({ ifname: p.host, netns }),
          ipv4: p.ip, netns, ingressEnforced: k === 'b', egressEnforced: false,
        };
        specs[k] = spec;
        await dp.attachEndpoint(spec, k === 'b' ? [{ direction: 'ingress', identity: pods.a.identity, protocol: 6, port: 8080, deny: false }] : []);
      }
      dps.a!.ipcacheUpsert(`${pods.b.ip}/32`, pods.b.identity, nodes.b.underlay);
      dps.b!.ipcacheUpsert(`${pods.a.ip}/32`, WRONG_IDENTITY, nodes.a.underlay);
      reader = dps.b!.events({ pollMs: 50 });
      eventsB = new EventCollector(reader);
      await reader.ready();
      readerA = dps.a!.events({ pollMs: 50 });
      eventsA = new EventCollector(readerA);
      await readerA.ready();
    });

    after(async () => {
      server?.kill('SIGKILL');
      await reader?.close();
      await readerA?.close();
      for (const k of ['a', 'b'] as const) {
        const dp = dps[k];
        if (!dp) continue;
        const netns = `/run/netns/${nodes[k].ns}`;
        if (specs[k]) await dp.detachEndpoint(specs[k]!).catch(() => undefined);
        await dp.detachOverlay({ ifname: 'cilium_vxlan', netns }).catch(() => undefined);
        dp.close();
      }
      for (const ns of allNs) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      for (const k of ['a', 'b'] as const) Datapath.removePins(pinDir(k));
    });

    test('the tunnel settings read back and from-overlay is on tc ingress of cilium_vxlan', async () => {
      assert.deepEqual(dps.a!.tunnel(), { ifindex: await linkIfindex({ ifname: 'cilium_vxlan', netns: `/run/netns/${nodes.a.ns}` }), ...local(nodes.a.underlay) });
      assert.ok(await tcAttachedProgramId({ ifname: 'cilium_vxlan', netns: `/run/netns/${nodes.b.ns}` }, 'ingress'));
    });

    test('cross-node TCP to the allowed port connects although B\'s ipcache has another identity for a', async () => {
      eventsB.clear();
      eventsA.clear();
      assert.equal(await tcpConnect(pods.a.ns, pods.b.ip, 8080), 'connected');
      const fromOverlay = await eventsB.waitFor('from-overlay trace at B', (r) => r.type === EventType.trace && r.subType === TracePoint.fromOverlay);
      assert.equal(fromOverlay.srcIdentity, pods.a.identity, 'the VNI carries a\'s identity');
      assert.equal(fromOverlay.dstEndpoint, pods.b.id);
      assert.equal(fromOverlay.isReply, false);
      const toOverlay = await eventsA.waitFor('to-overlay trace at A', (r) => r.type === EventType.trace && r.subType === TracePoint.toOverlay && !r.isReply);
      assert.equal(toOverlay.srcIdentity, pods.a.identity);
      const back = await eventsA.waitFor('from-overlay reply at A', (r) => r.type === EventType.trace && r.subType === TracePoint.fromOverlay);
      assert.equal(back.srcIdentity, pods.b.identity, 'b\'s identity came back in the VNI');
      assert.equal(back.isReply, true, 'the SYN-ACK is a reply to a\'s connection');
      const verdict = await eventsB.waitFor('allow verdict at b', (r) => r.type === EventType.policyVerdict && r.source === pods.b.id);
      assert.equal(verdict.srcIdentity, pods.a.identity);
    });

    test('another port is dropped at b with the identity from the VNI', async () => {
      eventsB.clear();
      assert.equal(await tcpConnect(pods.a.ns, pods.b.ip, 8081), 'timeout');
      const drop = await eventsB.waitFor('policy drop at b', (r) => r.type === EventType.drop && r.source === pods.b.id);
      assert.equal(drop.subType, DropReason.policy);
      assert.equal(drop.srcIdentity, pods.a.identity);
    });

    test('packets from the overlay enter b\'s pod by peer redirect (b\'s host veth does not send them)', () => {
      const bNs = nodes.b.ns;
      const txToB = (): number => {
        const out = execFileSync('ip', ['-n', bNs, '-s', '-j', 'link', 'show', pods.b.host], { encoding: 'utf8' });
        return (JSON.parse(out) as Array<{ stats64: { tx: { packets: number } } }>)[0].stats64.tx.packets;
      };
      const allowTcp = { direction: 'ingress', identity: pods.a.identity, protocol: 6, port: 8080, deny: false } as const;
      dps.b!.updatePolicy(pods.b.id, [allowTcp, { direction: 'ingress', identity: pods.a.identity, protocol: 1, port: 0, deny: false }]);
      try {
        const ping = (n: number): void => sh('ip', 'netns', 'exec', pods.a.ns, 'ping', '-q', '-c', String(n), '-i', '0.01', '-W', '1', pods.b.ip);
        ping(3);
        const before = txToB();
        ping(40);
        assert.ok(txToB() - before < 10, `${txToB() - before} packets left through ${pods.b.host}`);
      } finally {
        dps.b!.updatePolicy(pods.b.id, [allowTcp]);
      }
    });

    test('tunnel off (native routing): A has no route to b\'s pod, so nothing connects', async () => {
      dps.a!.setTunnel(undefined);
      try {
        assert.equal(dps.a!.tunnel(), undefined);
        assert.notEqual(await tcpConnect(pods.a.ns, pods.b.ip, 8080), 'connected');
      } finally {
        dps.a!.setTunnel({ ifindex: await linkIfindex({ ifname: 'cilium_vxlan', netns: `/run/netns/${nodes.a.ns}` }), ...local(nodes.a.underlay) });
      }
    });
  });
}
