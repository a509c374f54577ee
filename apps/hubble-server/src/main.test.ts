import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { agent, observer, peer } from '@cilium-ts/api';
import { encodeEventRecord } from '@cilium-ts/bpf/events';
import { buildPacket, TcpFlags } from '@cilium-ts/bpf/testing/packet-builder';
import { createClient } from '@cilium-ts/grpc';
import { freeTcpPort } from '@cilium-ts/kvstore';
import { FakeAgent } from '@cilium-ts/agent/testing';
import { getFlows, waitUntil } from './testing/grpc-helpers.js';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), 'main.js');
const T0 = 1_700_000_000_000_000_000n;

test('main: --help prints the flags; bad flags exit 2', () => {
  const help = spawnSync(process.execPath, [MAIN, '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  for (const f of ['--hubble-tls-cert-file', '--hubble-tls-key-file', '--hubble-tls-client-ca-files', '--metrics', '--agent-socket', '--listen-address', '--node-name', '--cluster-name', '--buffer-capacity', '--metrics-port', '--log-level']) {
    assert.ok(help.stdout.includes(f), f);
  }
  // Peers come from the agent: no kvstore connection of its own.
  assert.ok(!help.stdout.includes('--kvstore'), 'no kvstore flags');
  const bad = spawnSync(process.execPath, [MAIN, '--buffer-capacity', '1000'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--buffer-capacity 1000/);
  const badMetrics = spawnSync(process.execPath, [MAIN, '--metrics', 'flow,dns:querry'], { encoding: 'utf8' });
  assert.equal(badMetrics.status, 2);
  assert.match(badMetrics.stderr, /invalid --metrics entry "dns:querry": unknown option "querry" for dns/);
  const badTls = spawnSync(process.execPath, [MAIN, '--hubble-tls-cert-file', '/nonexistent.crt'], { encoding: 'utf8' });
  assert.equal(badTls.status, 2);
  assert.match(badTls.stderr, /--hubble-tls-cert-file and --hubble-tls-key-file go together/);
  const missing = spawnSync(process.execPath, [MAIN, '--hubble-tls-cert-file', '/nonexistent.crt', '--hubble-tls-key-file', '/nonexistent.key'], { encoding: 'utf8' });
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /cannot read --hubble-tls-cert-file "\/nonexistent.crt"/);
});

describe('main as a process: fake agent, peers from the agent, metrics, SIGTERM', () => {
  let dir: string;
  let fake: FakeAgent | undefined;
  let child: ChildProcess | undefined;
  let grpcPort: number;
  let metricsPort: number;
  let exited: Promise<number | null>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cts-hubble-main-'));
    fake = await FakeAgent.start(join(dir, 'agent.sock'), { snapshot: { nodes: [{ name: 'node-2', cluster: 'default', hubbleAddress: '10.9.9.2:4244' }] } });
    grpcPort = await freeTcpPort();
    metricsPort = await freeTcpPort();
    child = spawn(process.execPath, [
      MAIN,
      '--agent-socket', fake.target,
      '--listen-address', `127.0.0.1:${grpcPort},unix://${join(dir, 'hubble.sock')}`,
      '--node-name', 'node-1',
      '--buffer-capacity', '255',
      '--metrics-port', String(metricsPort),
      '--metrics', 'flow,drop,tcp,port-distribution:destinationContext=ip,icmp,http,dns:query',
      '--log-level', 'warn',
    ], { stdio: ['ignore', 'ignore', 'inherit'] });
    const proc = child;
    exited = new Promise((resolve) => proc.on('exit', (code) => resolve(code)));
    await waitUntil('hubble-server subscribed to the agent', () => fake!.subscribers === 1, 20_000);
  });

  after(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    fake?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('serves flows, peers from the agent, and metrics; exits 0 on SIGTERM', async () => {
    const drop = encodeEventRecord({
      type: 1, subType: 133, source: 1,
      packet: buildPacket({ src: '10.0.2.3', dst: '10.0.1.5', protocol: 'udp', sport: 5353, dport: 53 }),
    });
    const syn = encodeEventRecord({
      type: 4, subType: 5, source: 1, egress: true,
      packet: buildPacket({ src: '10.0.1.5', dst: '10.0.1.9', protocol: 'tcp', sport: 40000, dport: 8080, tcpFlags: TcpFlags.syn }),
    });
    fake!.sendRecord(drop, T0);
    fake!.sendRecord(syn, T0 + 1n);
    const client = createClient(observer.ObserverClient, `127.0.0.1:${grpcPort}`);
    const pc = createClient(peer.PeerClient, `unix://${join(dir, 'hubble.sock')}`);
    try {
      let flows: observer.GetFlowsResponse[] = [];
      for (let i = 0; i < 100 && flows.length < 2; i++) {
        flows = await getFlows(client, { number: 10n });
        if (flows.length < 2) await new Promise((r) => setTimeout(r, 50));
      }
      assert.deepEqual(flows.map((r) => [r.nodeName, r.flow?.dropReason, r.flow?.Summary]), [
        ['node-1', 133, 'UDP'],
        ['node-1', 0, 'TCP Flags: SYN'],
      ]);

      const notes: peer.ChangeNotification[] = [];
      const stream = pc.notify(peer.NotifyRequest.fromPartial({}));
      stream.on('data', (n: peer.ChangeNotification) => notes.push(n));
      stream.on('error', () => undefined);
      await waitUntil('both peers', () => notes.some((n) => n.name === 'node-2') && notes.some((n) => n.name === 'node-1'));
      assert.equal(notes.find((n) => n.name === 'node-2')?.address, '10.9.9.2:4244');
      assert.equal(notes.find((n) => n.name === 'node-1')?.address, `127.0.0.1:${grpcPort}`);
      fake!.sendMetadata({ kind: agent.MetadataEvent_Kind.DELETE, node: { name: 'node-2', cluster: 'default' } });
      await waitUntil('node-2 deleted', () => notes.some((n) => n.name === 'node-2' && n.type === peer.ChangeNotificationType.PEER_DELETED));
      stream.cancel();

      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      assert.match(text, /hubble_flows_processed_total\{[^}]*type="Drop"[^}]*verdict="DROPPED"[^}]*\} 1/);
      assert.match(text, /hubble_flows_processed_total\{[^}]*subtype="from-endpoint"[^}]*\} 1/);
      assert.match(text, /hubble_drop_total\{reason="POLICY_DENIED",protocol="UDP"[^}]*\} 1/);
      assert.match(text, /hubble_tcp_flags_total\{flag="SYN",family="IPv4"[^}]*\} 1/);
      assert.match(text, /hubble_port_distribution_total\{protocol="TCP",port="8080",destination="10.0.1.9"[^}]*\} 1/);
      assert.doesNotMatch(text, /hubble_icmp_total\{|hubble_http_[a-z_]+\{|hubble_dns_[a-z_]+\{/, 'no ICMP or L7 flows were seen');
    } finally {
      client.close();
      pc.close();
    }
    child!.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.equal(existsSync(join(dir, 'hubble.sock')), false);
  });
});
