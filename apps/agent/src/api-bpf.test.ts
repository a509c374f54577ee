import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { agent } from '@cilium-ts/api';
import { Datapath } from '@cilium-ts/bpf';
import { buildPacket, TcpFlags } from '@cilium-ts/bpf/testing';
import { bpfService } from './api-bpf.js';

const needsRoot = { skip: process.getuid?.() !== 0 && process.env.CI !== 'true' ? 'needs root' : false } as const;

type Impl = Record<string, (call: { request: unknown }) => Promise<unknown>>;

describe('Bpf service over a real datapath', needsRoot, () => {
  const pinDir = `/sys/fs/bpf/cts-apibpf-${process.pid}`;
  let dp: Datapath;
  let impl: Impl;

  before(async () => {
    Datapath.removePins(pinDir);
    dp = await Datapath.open({ pinDir });
    dp.ipcacheUpsert('10.7.0.0/24', 300, '192.168.7.1');
    dp.ipcacheUpsert('10.7.1.5/32', 301);
    dp.loadEndpoint({ id: 5, identity: 1005, hostIfindex: 1, ipv4: '10.7.1.5', ingressEnforced: true, egressEnforced: false }, [
      { direction: 'ingress', identity: 300, protocol: 6, port: 80, deny: false },
      { direction: 'ingress', identity: 0, protocol: 17, port: 53, deny: true },
    ]);
    // One allowed connection and one drop, through the real program.
    assert.equal(dp.testRun(5, 'to-container', buildPacket({ src: '10.7.0.9', dst: '10.7.1.5', protocol: 'tcp', sport: 40000, dport: 80, tcpFlags: TcpFlags.syn })).retval, 0);
    assert.equal(dp.testRun(5, 'to-container', buildPacket({ src: '10.7.0.9', dst: '10.7.1.5', protocol: 'udp', sport: 40001, dport: 53 })).retval, 2);
    const labels = new Map([[300, ['k8s:app=client']]]);
    impl = bpfService({ bpfPinDir: pinDir, endpoints: { get: (q) => (q.id === 5 ? {} : undefined) }, identities: { get: (id) => labels.get(id) } }).implementation as Impl;
  });
  after(() => {
    dp?.close();
    Datapath.removePins(pinDir);
  });

  test('PolicyGet lists the policy map with labels and enforcement', async () => {
    const r = (await impl.policyGet({ request: agent.BpfPolicyGetRequest.create({ endpointId: 5 }) })) as agent.BpfPolicyGetResponse;
    assert.equal(r.ingressEnforced, true);
    assert.equal(r.egressEnforced, false);
    assert.deepEqual(r.entries.map((e) => [e.direction, e.identity, e.identityLabels, e.protocol, e.port, e.deny]), [
      ['ingress', 0, [], 17, 53, true],
      ['ingress', 300, ['k8s:app=client'], 6, 80, false],
    ]);
  });

  test('PolicyGet of an unknown endpoint is NOT_FOUND; a missing id is INVALID_ARGUMENT', async () => {
    await assert.rejects(impl.policyGet({ request: agent.BpfPolicyGetRequest.create({ endpointId: 6 }) }), /endpoint 6 not found/);
    await assert.rejects(impl.policyGet({ request: agent.BpfPolicyGetRequest.create({}) }), /endpoint_id is required/);
  });

  test('CtList shows the connection the program opened, with its state and lifetime', async () => {
    const r = (await impl.ctList({ request: {} })) as agent.BpfCtListResponse;
    assert.equal(r.entries.length, 1);
    const e = r.entries[0];
    assert.deepEqual([e.source, e.sourcePort, e.destination, e.destinationPort, e.protocol, e.endpointId, e.direction, e.peerIdentity, e.state],
      ['10.7.0.9', 40000, '10.7.1.5', 80, 6, 5, 'ingress', 300, 'tcp-syn']);
    assert.ok(e.expiresInSeconds > 50n && e.expiresInSeconds <= 60n);
  });

  test('IpcacheList and MetricsList read the shared maps', async () => {
    const ip = (await impl.ipcacheList({ request: {} })) as agent.BpfIpcacheListResponse;
    assert.deepEqual(ip.entries.map((e) => [e.cidr, e.identity, e.hostIp]), [['10.7.0.0/24', 300, '192.168.7.1'], ['10.7.1.5/32', 301, '']]);
    const m = (await impl.metricsList({ request: {} })) as agent.BpfMetricsListResponse;
    assert.deepEqual(m.entries.map((e) => [e.reason, e.reasonText, e.direction, e.packets]), [
      [0, 'Forwarded', 'ingress', 1n],
      [181, 'Policy denied by denylist', 'ingress', 1n],
    ]);
  });
});
