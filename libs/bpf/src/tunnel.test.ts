import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { Datapath, type EndpointDatapathSpec } from './datapath.js';
import type { EventReader } from './event-reader.js';
import { DropReason, EventType, TracePoint } from './event-record.js';
import { linkIfindex, tcAttachedProgramId } from './tc-attach.js';
import { EventCollector, needsRoot, uniqueName } from './testing/test-support.js';
import { TunnelLab, type TunnelLabNode } from './testing/tunnel-lab.js';
import { tcpConnect } from './testing/netns-connect.js';
import { sh } from './testing/pod-lab.js';

// Two node namespaces on a fabric (a veth pair), one pod on each, VXLAN tunnel mode:
// each node has cilium_vxlan (external, dstport 8472) with from-overlay on its tc ingress.
// Node B's ipcache gives pod a's address a wrong identity on purpose: B must take the
// source identity from the VNI, so the policy at b (allow a's identity) still admits a.
// Run once over an IPv4 underlay and once over an IPv6 one (the ipcache host address
// and TunnelConfig.localIpv6 are IPv6; VXLAN over IPv6 with UDP checksums).
const pid = process.pid;
const WRONG_IDENTITY = 2999;

for (const underlay of [4, 6] as const) tunnelSuite(underlay);

function tunnelSuite(family: 4 | 6): void {
  const base = uniqueName(`tun${family}`);
  /** The pods' endpoint ids and identities (the lab's pods have the addresses). */
  const ids = { a: { id: 21, identity: 2001 }, b: { id: 22, identity: 2002 } };
  let lab: TunnelLab;
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
    let nodes: { a: TunnelLabNode; b: TunnelLabNode };
    let pods: Record<'a' | 'b', TunnelLabNode['pod'] & { id: number; identity: number }>;
    const pinDir = (k: string): string => `/sys/fs/bpf/${base}-${k}`;

    before(async () => {
      for (const k of ['a', 'b'] as const) Datapath.removePins(pinDir(k));
      lab = TunnelLab.create(base, `${family}${pid % 100000}`, { underlay: family, baseline: false, subnet: 203 });
      nodes = lab.nodes;
      pods = { a: { ...lab.nodes.a.pod, ...ids.a }, b: { ...lab.nodes.b.pod, ...ids.b } };
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
        const netns = lab.netns(k);
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
        const netns = lab.netns(k);
        if (specs[k]) await dp.detachEndpoint(specs[k]!).catch(() => undefined);
        await dp.detachOverlay({ ifname: 'cilium_vxlan', netns }).catch(() => undefined);
        dp.close();
      }
      lab?.destroy();
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
        const ping = (n: number): void => void sh('ip', 'netns', 'exec', pods.a.ns, 'ping', '-q', '-c', String(n), '-i', '0.01', '-W', '1', pods.b.ip);
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
